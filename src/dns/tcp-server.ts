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
import { HEADER_LEN } from '../wire/header.js';

const MAX_OUTSTANDING_PER_CONNECTION = 64;
/** The longest query accepted over TCP: a question, an OPT and some options fit many times over. */
export const MAX_TCP_QUERY_BYTES = 4096;
/** Answers written but not yet taken by the peer, before reading from it pauses. */
export const MAX_UNSENT_BYTES = 64 * 1024;
export const DEFAULT_TCP_READ_TIMEOUT_MS = 5_000;
export const DEFAULT_TCP_FIRST_QUERY_TIMEOUT_MS = 2_000;
const MIN_SWEEP_INTERVAL_MS = 10;
const MAX_SWEEP_INTERVAL_MS = 1_000;

export interface TcpLimits {
  /** A connection with nothing outstanding and no frame arriving is closed after this. */
  idleTimeoutMs: number;
  /** A frame must be complete this long after its first byte. Default min(5000, idleTimeoutMs). */
  readTimeoutMs?: number | undefined;
  /** The first query must be complete this long after the accept. Default 2000. */
  firstQueryTimeoutMs?: number | undefined;
  maxConnections: number;
  maxConnectionsPerClient: number;
}

export interface TcpCounters {
  accepted: number;
  /** Connections refused by the caps (or while stopping). */
  rejected: number;
  idleClosed: number;
  /** Connections closed because a frame was not complete in time. */
  readTimeouts: number;
  /** Connections closed for a declared length below a header or above MAX_TCP_QUERY_BYTES. */
  badFrames: number;
  /** Connections from addresses outside the client ACL, closed at accept. */
  refusedClients: number;
  /** Connections closed because no complete query arrived within firstQueryTimeoutMs. */
  firstQueryTimeouts: number;
}

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

/** Per-connection state; the transport handed to the resolver is created once per connection. */
interface Connection {
  readonly socket: Socket;
  readonly clientIp: string;
  readonly clientPort: number;
  /** performance.now() at accept, or -1 once the first complete query has arrived. */
  acceptedMs: number;
  transport: Transport | undefined;
  /** The partial frame being filled, allocated once its length is known. */
  frame: Buffer | undefined;
  filled: number;
  /** The high byte of a length prefix that arrived alone, or -1. */
  lengthHigh: number;
  /** When the first byte of the current partial frame arrived, or -1 with no partial frame. */
  frameStartMs: number;
  lastActivityMs: number;
  outstanding: number;
  /** Input received but not yet parsed because reading is paused. */
  held: Buffer | undefined;
  /** Reading paused by us (backpressure), not by the peer. */
  paused: boolean;
  /** True while a chunk is being parsed: answers sent synchronously must not resume reading. */
  parsing: boolean;
  peerEnded: boolean;
}

function checkLimit(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new PoolsinkError('ERR_CONFIG_INVALID', `tcp listener: ${name} must be a positive integer, got ${value}`);
  }
  return value;
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
  const idleTimeoutMs = checkLimit(limits.idleTimeoutMs, 'idleTimeoutMs');
  const readTimeoutMs = checkLimit(
    limits.readTimeoutMs ?? Math.min(DEFAULT_TCP_READ_TIMEOUT_MS, idleTimeoutMs),
    'readTimeoutMs',
  );
  const firstQueryTimeoutMs = checkLimit(
    limits.firstQueryTimeoutMs ?? DEFAULT_TCP_FIRST_QUERY_TIMEOUT_MS,
    'firstQueryTimeoutMs',
  );
  const maxConnections = checkLimit(limits.maxConnections, 'maxConnections');
  const maxPerClient = checkLimit(limits.maxConnectionsPerClient, 'maxConnectionsPerClient');
  const sweepIntervalMs = Math.max(
    MIN_SWEEP_INTERVAL_MS,
    Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(Math.min(idleTimeoutMs, readTimeoutMs, firstQueryTimeoutMs) / 4)),
  );

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
  let sweepTimer: NodeJS.Timeout | undefined;

  function release(clientIp: string): void {
    const n = (perClient.get(clientIp) ?? 1) - 1;
    if (n <= 0) perClient.delete(clientIp);
    else perClient.set(clientIp, n);
  }

  function sweep(): void {
    const now = performance.now();
    for (const conn of connections) {
      if (conn.socket.destroyed) continue;
      if (conn.acceptedMs >= 0 && now - conn.acceptedMs >= firstQueryTimeoutMs) {
        counters.firstQueryTimeouts++;
        conn.socket.destroy();
      } else if (!conn.paused && conn.frameStartMs >= 0 && now - conn.frameStartMs >= readTimeoutMs) {
        counters.readTimeouts++;
        conn.socket.destroy();
      } else if (
        conn.outstanding === 0 &&
        (conn.paused || conn.frameStartMs < 0) &&
        now - conn.lastActivityMs >= idleTimeoutMs
      ) {
        counters.idleClosed++;
        conn.socket.destroy();
      }
    }
    if (connections.size === 0) stopSweep();
  }

  function startSweep(): void {
    if (sweepTimer !== undefined) return;
    sweepTimer = setInterval(sweep, sweepIntervalMs);
    sweepTimer.unref();
  }

  function stopSweep(): void {
    if (sweepTimer === undefined) return;
    clearInterval(sweepTimer);
    sweepTimer = undefined;
  }

  function mustPause(conn: Connection): boolean {
    return conn.outstanding >= MAX_OUTSTANDING_PER_CONNECTION || conn.socket.writableLength > MAX_UNSENT_BYTES;
  }

  function pause(conn: Connection): void {
    if (conn.paused) return;
    conn.paused = true;
    conn.socket.pause();
  }

  /** Resumes reading once below the limits: held input first, then the socket. */
  function resumeIfReady(conn: Connection): void {
    if (!conn.paused || conn.parsing || conn.socket.destroyed || !accepting || mustPause(conn)) return;
    conn.paused = false;
    // The time spent paused was ours, not the peer's.
    if (conn.frameStartMs >= 0) conn.frameStartMs = performance.now();
    const held = conn.held;
    conn.held = undefined;
    if (held !== undefined) parse(conn, held);
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

  /** Parses frames out of `chunk`; stops (holding the rest) when reading must pause. */
  function parse(conn: Connection, chunk: Buffer): void {
    const transport = conn.transport;
    if (transport === undefined) return;
    const end = chunk.length;
    let pos = 0;
    conn.parsing = true;
    try {
      while (pos < end) {
        const frame = conn.frame;
        if (frame !== undefined) {
          const take = Math.min(frame.length - conn.filled, end - pos);
          chunk.copy(frame, conn.filled, pos, pos + take);
          conn.filled += take;
          pos += take;
          if (conn.filled < frame.length) break;
          conn.frame = undefined;
          conn.frameStartMs = -1;
          dispatch(conn, frame, transport);
          if (conn.socket.destroyed) return;
          continue;
        }
        if (mustPause(conn)) {
          conn.held = chunk.subarray(pos);
          pause(conn);
          return;
        }
        let length: number;
        if (conn.lengthHigh >= 0) {
          length = (conn.lengthHigh << 8) | chunk[pos]!;
          conn.lengthHigh = -1;
          pos += 1;
        } else if (end - pos >= 2) {
          length = chunk.readUInt16BE(pos);
          pos += 2;
        } else {
          conn.lengthHigh = chunk[pos]!;
          conn.frameStartMs = performance.now();
          pos += 1;
          break;
        }
        if (length < HEADER_LEN || length > MAX_TCP_QUERY_BYTES) {
          badFrame(conn, length);
          return;
        }
        if (end - pos >= length) {
          // A copy: the resolver may keep the query while it waits for an upstream.
          const query = Buffer.allocUnsafe(length);
          chunk.copy(query, 0, pos, pos + length);
          pos += length;
          conn.frameStartMs = -1;
          dispatch(conn, query, transport);
          if (conn.socket.destroyed) return;
          continue;
        }
        conn.frame = Buffer.allocUnsafe(length);
        conn.filled = end - pos;
        chunk.copy(conn.frame, 0, pos, end);
        pos = end;
        if (conn.frameStartMs < 0) conn.frameStartMs = performance.now();
      }
    } finally {
      conn.parsing = false;
    }
    if (mustPause(conn)) pause(conn);
  }

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
    const conn: Connection = {
      socket,
      clientIp,
      clientPort: socket.remotePort ?? 0,
      acceptedMs: performance.now(),
      transport: undefined,
      frame: undefined,
      filled: 0,
      lengthHigh: -1,
      frameStartMs: -1,
      lastActivityMs: performance.now(),
      outstanding: 0,
      held: undefined,
      paused: false,
      parsing: false,
      peerEnded: false,
    };
    connections.add(conn);
    startSweep();

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
      parse(conn, chunk);
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
      stopSweep();
      for (const conn of connections) conn.socket.destroy();
      return new Promise<void>((resolve) => {
        if (!server.listening) resolve();
        else server.close(() => resolve());
      });
    },
  };
}
