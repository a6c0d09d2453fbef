/**
 * One TCP listener per RFC 7766: 2-byte length framing, pipelined queries answered as they
 * complete (in any order), caps on connections in total and per client.
 *
 * Every connection costs bounded memory and time, whatever the peer does:
 * - a frame declares 12..MAX_TCP_QUERY_BYTES bytes, or the connection is closed at once (a query
 *   shorter than a header cannot be answered; a longer one is not a query poolsink serves);
 * - at most one partial frame is held, and it must be complete within `readTimeoutMs` of its first
 *   byte (a slow sender trickling a byte at a time is cut off);
 * - a connection with no query outstanding and none arriving is closed after `idleTimeoutMs`;
 * - a connection from outside the client ACL is closed at accept, before it holds a slot, and one
 *   whose first query is not complete within `firstQueryTimeoutMs` of the accept is closed (a
 *   connect-and-wait flood frees its slots quickly);
 * - reading stops while MAX_OUTSTANDING_PER_CONNECTION queries are unanswered or answers the peer
 *   does not read pile up past MAX_UNSENT_BYTES (the rest of the chunk waits, unparsed).
 * Timeouts share one sweep timer per listener instead of a timer per connection.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import type { ClientAcl } from './acl.js';
import type { RateLimitGate } from './rate-limit.js';
import type { Transport } from './transport.js';
import type { Resolver } from './resolver.js';
import { checkTcpLimits, type TcpLimits } from './tcp-limits.js';
import {
  mustPause,
  newConnection,
  parseFrames,
  pause,
  type Connection,
  type FrameSink,
  type TcpCounters,
} from './tcp-connection.js';
import { createTcpSweep } from './tcp-sweep.js';

export {
  DEFAULT_TCP_FIRST_QUERY_TIMEOUT_MS,
  DEFAULT_TCP_READ_TIMEOUT_MS,
  MAX_TCP_QUERY_BYTES,
  MAX_UNSENT_BYTES,
  type TcpLimits,
} from './tcp-limits.js';
export type { TcpCounters } from './tcp-connection.js';

export interface TcpListener {
  readonly protocol: 'tcp';
  readonly address: HostPort;
  readonly connections: number;
  /** Bytes held for connections now: partial frames, unparsed input and unsent answers. */
  readonly bufferedBytes: number;
  readonly counters: Readonly<TcpCounters>;
  stopAccepting(): void;
  close(): Promise<void>;
}

export async function startTcpListener(options: {
  listen: HostPort;
  resolver: Resolver;
  log: Logger;
  limits: TcpLimits;
  /** Per-client rate limiting, shared with the other listeners; none when undefined. */
  rateLimit?: RateLimitGate | undefined;
  /** The client ACL, applied at accept; every address is accepted when undefined. */
  acl?: ClientAcl | undefined;
}): Promise<TcpListener> {
  const { listen, resolver, log, limits, rateLimit, acl } = options;
  const checked = checkTcpLimits(limits);
  const { maxConnections, maxPerClient } = checked;

  const connections = new Set<Connection>();
  const perClient = new Map<string, number>();
  const counters: TcpCounters = {
    accepted: 0,
    rejected: 0,
    idleClosed: 0,
    readTimeouts: 0,
    badFrames: 0,
    refusedClients: 0,
    firstQueryTimeouts: 0,
  };
  let accepting = true;
  const sweep = createTcpSweep(connections, checked, counters);

  function release(clientIp: string): void {
    const n = (perClient.get(clientIp) ?? 1) - 1;
    if (n <= 0) perClient.delete(clientIp);
    else perClient.set(clientIp, n);
  }

  /** Resumes reading once below the limits: held input first, then the socket. */
  function resumeIfReady(conn: Connection): void {
    if (!conn.paused || conn.parsing || conn.socket.destroyed || !accepting || mustPause(conn)) return;
    conn.paused = false;
    // The time spent paused was ours, not the peer's.
    if (conn.frameStartMs >= 0) conn.frameStartMs = performance.now();
    const held = conn.held;
    conn.held = undefined;
    if (held !== undefined) parseFrames(conn, held, frames);
    if (!conn.paused && !conn.socket.destroyed) conn.socket.resume();
    endIfDone(conn);
  }

  /** After the peer's FIN: closes our side once every query it sent has been answered. */
  function endIfDone(conn: Connection): void {
    // A partial frame left at the peer's end can never complete: it is dropped.
    if (conn.peerEnded && conn.outstanding === 0 && conn.held === undefined && !conn.parsing) conn.socket.end();
  }

  function dispatch(conn: Connection, query: Buffer, transport: Transport): void {
    conn.outstanding++;
    conn.acceptedMs = -1;
    conn.lastActivityMs = performance.now();
    if (rateLimit === undefined || rateLimit.admit(query, conn.clientIp, conn.clientPort, transport)) {
      resolver.handle(query, conn.clientIp, conn.clientPort, transport);
    }
  }

  /** Closes the connection for a length no query has. */
  function badFrame(conn: Connection, length: number): void {
    counters.badFrames++;
    log.debug({ client: conn.clientIp, length }, 'tcp frame length out of range');
    conn.socket.destroy();
  }

  const frames: FrameSink = { query: dispatch, badLength: badFrame };

  function onConnection(socket: Socket): void {
    const clientIp = socket.remoteAddress ?? '';
    if (acl !== undefined && !acl.allows(clientIp)) {
      // Refused clients never take a slot: their queries would only be answered REFUSED anyway.
      counters.refusedClients++;
      socket.destroy();
      return;
    }
    const fromClient = perClient.get(clientIp) ?? 0;
    if (!accepting || connections.size >= maxConnections || fromClient >= maxPerClient) {
      counters.rejected++;
      socket.destroy();
      return;
    }
    counters.accepted++;
    perClient.set(clientIp, fromClient + 1);
    socket.setNoDelay(true);
    const conn = newConnection(socket, clientIp);
    connections.add(conn);
    sweep.start();

    function settle(): void {
      conn.outstanding--;
      conn.lastActivityMs = performance.now();
      if (conn.paused) resumeIfReady(conn);
      endIfDone(conn);
    }

    conn.transport = {
      protocol: 'tcp',
      send(response) {
        if (!socket.destroyed && socket.writable) {
          const framed = Buffer.allocUnsafe(response.length + 2);
          framed.writeUInt16BE(response.length, 0);
          response.copy(framed, 2);
          socket.write(framed);
        }
        settle();
      },
      drop() {
        settle();
      },
    };

    socket.on('data', (chunk: Buffer) => {
      if (conn.held !== undefined) {
        // Data that was already on its way when reading paused: keep it in order behind the rest.
        conn.held = Buffer.concat([conn.held, chunk]);
        return;
      }
      parseFrames(conn, chunk, frames);
    });
    socket.on('drain', () => {
      conn.lastActivityMs = performance.now();
      resumeIfReady(conn);
    });
    socket.on('end', () => {
      conn.peerEnded = true;
      endIfDone(conn);
    });
    socket.on('error', (err) => log.debug({ err, client: clientIp }, 'tcp connection error'));
    socket.on('close', () => {
      connections.delete(conn);
      conn.frame = undefined;
      conn.held = undefined;
      release(clientIp);
    });
  }

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        new PoolsinkError('ERR_LISTEN', `cannot listen on tcp ${formatHostPort(listen)}: ${errorMessage(err)}`, {
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen({ port: listen.port, host: listen.host, ipv6Only: listen.family === 6, backlog: 511 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.warn({ err, listen: formatHostPort(listen) }, 'tcp server error'));
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : listen.port;

  return {
    protocol: 'tcp',
    address: { host: listen.host, port, family: listen.family },
    get connections() {
      return connections.size;
    },
    get bufferedBytes() {
      let bytes = 0;
      for (const conn of connections) {
        bytes += (conn.frame?.length ?? 0) + (conn.held?.length ?? 0) + conn.socket.writableLength;
      }
      return bytes;
    },
    counters,
    stopAccepting() {
      accepting = false;
      server.close();
      for (const conn of connections) pause(conn);
    },
    close() {
      accepting = false;
      sweep.stop();
      for (const conn of connections) conn.socket.destroy();
      return new Promise<void>((resolve) => {
        if (!server.listening) resolve();
        else server.close(() => resolve());
      });
    },
  };
}
