/**
 * The TCP listener's limits: the fixed caps, the configurable timeouts and connection caps
 * (checked once, failing with the name of the limit), and the sweep interval they imply.
 */
import { PoolsinkError } from '../errors.js';

export const MAX_OUTSTANDING_PER_CONNECTION = 64;
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

/** The timeouts a listener's sweep applies, and how often it runs. */
export interface TcpTimeouts {
  readonly idleTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly firstQueryTimeoutMs: number;
  readonly sweepIntervalMs: number;
}

/** TcpLimits checked, with their defaults filled in. */
export interface CheckedTcpLimits extends TcpTimeouts {
  readonly maxConnections: number;
  readonly maxPerClient: number;
}

function checkLimit(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new PoolsinkError('ERR_CONFIG_INVALID', `tcp listener: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

export function checkTcpLimits(limits: TcpLimits): CheckedTcpLimits {
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
  return { idleTimeoutMs, readTimeoutMs, firstQueryTimeoutMs, maxConnections, maxPerClient, sweepIntervalMs };
}
