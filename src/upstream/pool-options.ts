/**
 * The upstream pool's options, checked once when the pool is created (failing fast with a message
 * naming the option), and the configured upstreams in the canonical form the pool compares reply
 * sources against.
 */
import { isIP, SocketAddress } from 'node:net';
import type { Logger } from 'pino';
import { PoolsinkError } from '../errors.js';
import { formatHostPort } from '../net/address.js';
import type { HealthTarget } from './health.js';

export interface UpstreamAddress {
  /** An IPv4 or IPv6 literal. */
  host: string;
  port: number;
}

export interface UpstreamPoolOptions {
  upstreams: readonly UpstreamAddress[];
  /** Per attempt, per upstream. */
  timeoutMs: number;
  log: Logger;
  /** UDP sockets per address family; default 8. */
  socketCount?: number;
  /** A socket is replaced (new random port) after this many queries; default 5000. */
  socketMaxUses?: number;
  /** Clock for deadlines, in milliseconds; default a monotonic clock. */
  now?: () => number;
  /** Told the round trip of every exchange that produced an answer (UDP, or the TCP retry). */
  observeRtt?: (upstream: string, seconds: number) => void;
}

const DEFAULT_SOCKET_COUNT = 8;
const DEFAULT_SOCKET_MAX_USES = 5000;
const MAX_SOCKET_COUNT = 256;
/** The sweep runs at most this often apart, and at least four times per timeout. */
const MAX_SWEEP_INTERVAL_MS = 25;
const MIN_SWEEP_INTERVAL_MS = 5;

export interface Upstream extends HealthTarget {
  /** Canonical text, as the kernel reports reply sources. */
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

function invalidOption(name: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_CONFIG_INVALID', `upstream pool: ${name} ${problem}`);
}

function positiveInteger(value: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw invalidOption(name, `must be an integer from 1 to ${max}, got ${value}`);
  return value;
}

function toUpstream(address: UpstreamAddress, index: number): Upstream {
  const family = isIP(address.host);
  if (family !== 4 && family !== 6)
    throw invalidOption(`upstreams[${index}].host`, `must be an IP address, got "${address.host}"`);
  if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65535) {
    throw invalidOption(`upstreams[${index}].port`, `must be from 1 to 65535, got ${address.port}`);
  }
  const host = new SocketAddress({ address: address.host, family: family === 4 ? 'ipv4' : 'ipv6' }).address;
  return {
    host,
    port: address.port,
    family,
    label: formatHostPort({ host, port: address.port }),
    consecutiveFailures: 0,
    lastError: undefined,
    failures: { timeout: 0, servfail: 0, refused: 0, error: 0 },
  };
}

/** The options after checking, with defaults applied. */
export interface CheckedPoolOptions {
  readonly upstreams: readonly Upstream[];
  readonly timeoutMs: number;
  readonly socketCount: number;
  readonly socketMaxUses: number;
  readonly sweepIntervalMs: number;
}

/** Throws ERR_CONFIG_INVALID naming the first option that is wrong. */
export function checkPoolOptions(options: UpstreamPoolOptions): CheckedPoolOptions {
  if (options.upstreams.length === 0) throw invalidOption('upstreams', 'must name at least one upstream');
  const upstreams = options.upstreams.map(toUpstream);
  const timeoutMs = positiveInteger(options.timeoutMs, 'timeoutMs');
  const socketCount = positiveInteger(options.socketCount ?? DEFAULT_SOCKET_COUNT, 'socketCount', MAX_SOCKET_COUNT);
  const socketMaxUses = positiveInteger(options.socketMaxUses ?? DEFAULT_SOCKET_MAX_USES, 'socketMaxUses');
  const sweepIntervalMs = Math.max(MIN_SWEEP_INTERVAL_MS, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(timeoutMs / 4)));
  return { upstreams, timeoutMs, socketCount, socketMaxUses, sweepIntervalMs };
}
