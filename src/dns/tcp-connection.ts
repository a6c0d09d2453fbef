/**
 * One TCP connection's state and its RFC 7766 framing: 2-byte length prefixes, at most one
 * partial frame held, and reading paused (the rest of the chunk held, unparsed) while
 * MAX_OUTSTANDING_PER_CONNECTION queries are unanswered or unsent answers pass MAX_UNSENT_BYTES.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { HEADER_LEN } from '../wire/header.js';
import { MAX_OUTSTANDING_PER_CONNECTION, MAX_TCP_QUERY_BYTES, MAX_UNSENT_BYTES } from './tcp-limits.js';
import type { Transport } from './transport.js';

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

/** Per-connection state; the transport handed to the resolver is created once per connection. */
export interface Connection {
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

/** A just-accepted connection: no frame, nothing outstanding, its first query awaited. */
export function newConnection(socket: Socket, clientIp: string): Connection {
  return {
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
}

export function mustPause(conn: Connection): boolean {
  return conn.outstanding >= MAX_OUTSTANDING_PER_CONNECTION || conn.socket.writableLength > MAX_UNSENT_BYTES;
}

export function pause(conn: Connection): void {
  if (conn.paused) return;
  conn.paused = true;
  conn.socket.pause();
}

/** Where complete frames go; one per listener. */
export interface FrameSink {
  /** A complete query (the connection may be destroyed on return). */
  query(conn: Connection, query: Buffer, transport: Transport): void;
  /** A declared length no query has: the sink closes the connection. */
  badLength(conn: Connection, length: number): void;
}

/** Parses frames out of `chunk`; stops (holding the rest) when reading must pause. */
export function parseFrames(conn: Connection, chunk: Buffer, sink: FrameSink): void {
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
        sink.query(conn, frame, transport);
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
        sink.badLength(conn, length);
        return;
      }
      if (end - pos >= length) {
        // A copy: the resolver may keep the query while it waits for an upstream.
        const query = Buffer.allocUnsafe(length);
        chunk.copy(query, 0, pos, pos + length);
        pos += length;
        conn.frameStartMs = -1;
        sink.query(conn, query, transport);
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
