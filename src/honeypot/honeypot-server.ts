/**
 * The honeypot's listeners: plain TCP and TLS on the ports miners use. Each connection speaks the
 * login phase of stratum (stratum-session.ts) over newline-framed lines (line-framer.ts), and ends
 * in exactly one counted outcome: a login (handed to onLogin, then an error reply and close), or a
 * cut for garbage, an over-long line, too many bytes, no login in time, a failed TLS handshake, or
 * the client leaving. Caps hold before any byte is read: connections in all and per client address.
 * Everything is bounded per connection (bytes, line, time), so a flood costs little on the thread
 * DNS answers on.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import { createLineFramer } from './line-framer.js';
import { createStratumSession } from './stratum-session.js';
import type { MinerLogin } from './miner-login.js';

export const HONEYPOT_OUTCOMES = [
  'login',
  /** A login past MAX_LOGINS_PER_SECOND: answered and closed, not recorded. */
  'login_unrecorded',
  'garbage',
  'line_too_long',
  'too_many_bytes',
  'timeout',
  'tls_error',
  /** The client left before logging in. */
  'closed',
  'refused_total',
  'refused_client',
] as const;
export type HoneypotOutcome = (typeof HONEYPOT_OUTCOMES)[number];

/** Logins recorded per second at most, across all clients: a login loop cannot flood the database. */
export const MAX_LOGINS_PER_SECOND = 50;

export type { MinerLogin };

export interface HoneypotLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly maxLineBytes: number;
  readonly maxBytesPerConnection: number;
  readonly loginTimeoutMs: number;
}

export interface HoneypotServerOptions {
  readonly listen: readonly HostPort[];
  readonly tlsListen: readonly HostPort[];
  /** Required when tlsListen is not empty. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  readonly limits: HoneypotLimits;
  readonly onLogin: (login: MinerLogin) => void;
  readonly log: Logger;
  readonly clock?: () => number;
}

export interface HoneypotServer {
  /** Bound addresses, in listen order (real ports when configured with port 0). */
  readonly plain: readonly HostPort[];
  readonly tls: readonly HostPort[];
  /** Connections ended, by outcome. */
  readonly outcomes: Readonly<Record<HoneypotOutcome, number>>;
  /** Connections open now. */
  readonly open: number;
  close(): Promise<void>;
}

/** "::ffff:10.0.0.5" (a v4 client on a dual-stack listener) as "10.0.0.5". */
function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function listenOn(server: Server, address: HostPort, kind: string): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(
        new PoolsinkError(
          'ERR_LISTEN',
          `cannot listen on honeypot ${kind} ${formatHostPort(address)}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        ),
      );
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', onError);
      const bound = server.address();
      resolve({ ...address, port: typeof bound === 'object' && bound !== null ? bound.port : address.port });
    });
  });
}

export async function startHoneypotServer(options: HoneypotServerOptions): Promise<HoneypotServer> {
  const { limits, log } = options;
  const clock = options.clock ?? Date.now;
  const outcomes: Record<HoneypotOutcome, number> = {
    login: 0,
    login_unrecorded: 0,
    garbage: 0,
    line_too_long: 0,
    too_many_bytes: 0,
    timeout: 0,
    tls_error: 0,
    closed: 0,
    refused_total: 0,
    refused_client: 0,
  };
  const perClient = new Map<string, number>();
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  let loginWindowMs = 0;
  let loginsInWindow = 0;
  let secureContext: SecureContext | undefined;
  if (options.tlsListen.length > 0) {
    if (options.tls === undefined) throw new PoolsinkError('ERR_LISTEN', 'honeypot TLS listeners need a certificate');
    secureContext = createSecureContext({ cert: options.tls.certPem, key: options.tls.keyPem });
  }

  function underLoginRate(nowMs: number): boolean {
    const window = Math.floor(nowMs / 1000);
    if (window !== loginWindowMs) {
      loginWindowMs = window;
      loginsInWindow = 0;
    }
    loginsInWindow += 1;
    return loginsInWindow <= MAX_LOGINS_PER_SECOND;
  }

  function accept(raw: Socket, port: number, tls: boolean): void {
    const clientIp = clientAddress(raw);
    const clientPort = raw.remotePort ?? 0;
    raw.on('error', () => undefined); // ends in 'close', counted there
    if (sockets.size >= limits.maxConnections) {
      outcomes.refused_total += 1;
      raw.destroy();
      return;
    }
    const fromClient = perClient.get(clientIp) ?? 0;
    if (fromClient >= limits.maxConnectionsPerClient) {
      outcomes.refused_client += 1;
      raw.destroy();
      return;
    }
    perClient.set(clientIp, fromClient + 1);
    sockets.add(raw);
    let outcome: HoneypotOutcome | undefined;
    const finish = (reached: HoneypotOutcome, graceful = false): void => {
      if (outcome !== undefined) return;
      outcome = reached;
      outcomes[reached] += 1;
      if (graceful) stream.end();
      else raw.destroy();
    };
    const timer = setTimeout(() => {
      if (outcome === undefined) finish('timeout');
      else raw.destroy(); // answered, but the client keeps its side open
    }, limits.loginTimeoutMs);
    timer.unref();
    raw.once('close', () => {
      clearTimeout(timer);
      sockets.delete(raw);
      const left = (perClient.get(clientIp) ?? 1) - 1;
      if (left <= 0) perClient.delete(clientIp);
      else perClient.set(clientIp, left);
      finish('closed');
    });

    const stream: Socket = tls
      ? new TLSSocket(raw, { isServer: true, ...(secureContext ? { secureContext } : {}) })
      : raw;
    if (tls) stream.on('error', () => finish('tls_error'));
    const framer = createLineFramer(limits.maxLineBytes);
    const session = createStratumSession();
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      if (outcome !== undefined) return;
      bytes += chunk.length;
      if (bytes > limits.maxBytesPerConnection) return finish('too_many_bytes');
      const framed = framer.push(chunk);
      for (const line of framed.lines) {
        const step = session.line(line);
        if (step.kind === 'garbage') return finish('garbage');
        for (const reply of step.replies) stream.write(`${reply}\n`);
        if (step.kind === 'login') {
          const timeMs = clock();
          if (!underLoginRate(timeMs)) return finish('login_unrecorded', true);
          try {
            options.onLogin({ ...step.login, timeMs, clientIp, clientPort, port, tls });
          } catch (err: unknown) {
            log.error({ err: errorMessage(err) }, 'honeypot: recording a miner login failed');
          }
          return finish('login', true);
        }
      }
      if (framed.tooLong) finish('line_too_long');
    });
  }

  async function start(address: HostPort, tls: boolean): Promise<HostPort> {
    const server = createServer({ allowHalfOpen: false });
    servers.push(server);
    const bound = await listenOn(server, address, tls ? 'tls' : 'tcp');
    server.on('connection', (socket) => accept(socket, bound.port, tls));
    server.on('error', (err) => log.warn({ err: errorMessage(err) }, 'honeypot listener error'));
    return bound;
  }

  async function close(): Promise<void> {
    const closing = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const socket of sockets) socket.destroy();
    await Promise.all(closing);
  }

  const plain: HostPort[] = [];
  const secure: HostPort[] = [];
  try {
    for (const address of options.listen) plain.push(await start(address, false));
    for (const address of options.tlsListen) secure.push(await start(address, true));
  } catch (err: unknown) {
    await close();
    throw err;
  }
  return {
    plain,
    tls: secure,
    outcomes,
    get open() {
      return sockets.size;
    },
    close,
  };
}
