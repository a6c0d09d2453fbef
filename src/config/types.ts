import type { HostPort, Cidr } from '../net/address.js';
import type { BlockResponseKind } from '../wire/block-answer.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LIST_FORMATS = ['auto', 'hosts', 'domains', 'adblock'] as const;
export const LIST_MODES = ['block', 'alert'] as const;
export const RATE_LIMIT_ACTIONS = ['refuse', 'drop'] as const;
export const BLOCK_RESPONSES = ['nxdomain', 'nodata', 'null', 'refused', 'sinkhole'] as const;

export interface DnsConfig {
  readonly listen: readonly HostPort[];
  readonly allowClients: readonly Cidr[];
  readonly tcpIdleTimeoutMs: number;
  /** A TCP message must arrive whole within this long of its first byte (slow senders are cut off). */
  readonly tcpReadTimeoutMs: number;
  readonly tcpMaxConnections: number;
  readonly tcpMaxConnectionsPerClient: number;
  readonly rateLimit: RateLimitConfig;
}

export interface RateLimitConfig {
  /** Sustained queries per second per client address; 0 turns rate limiting off. */
  readonly qps: number;
  readonly burst: number;
  readonly action: (typeof RATE_LIMIT_ACTIONS)[number];
}

export interface BlockConfig {
  readonly response: BlockResponseKind;
  readonly sinkholeIpv4: string;
  readonly sinkholeIpv6: string;
  readonly ttlSec: number;
}

export interface BlocklistConfig {
  readonly name: string;
  readonly source: string;
  readonly format: (typeof LIST_FORMATS)[number];
  readonly mode: (typeof LIST_MODES)[number];
  /** Seconds between refreshes of a URL source (jittered); file sources reload when changed. */
  readonly refreshSec: number;
  /** An update losing more than this share of entries is rejected unless forced. */
  readonly maxShrinkPercent: number;
}

export interface CacheConfig {
  readonly maxEntries: number;
  readonly minTtlSec: number;
  readonly maxTtlSec: number;
  readonly serveStaleSec: number;
}

export interface DatabaseConfig {
  /** SQLite file, resolved against baseDir. */
  readonly path: string;
  readonly retentionDays: number;
  readonly maxEvents: number;
  /** Block events buffered in memory at most; beyond it events are dropped and counted. */
  readonly maxBufferedEvents: number;
  readonly flushIntervalMs: number;
}

export interface AdminConfig {
  readonly listen: HostPort;
  /** Exactly one of token / tokenFile, or neither: then a token is generated into dataDir/admin-token. */
  readonly token?: string;
  readonly tokenFile?: string;
  readonly metricsAuth: boolean;
}

export interface Config {
  /** Directory that relative paths in the file (list sources, data) resolve against. */
  readonly baseDir: string;
  readonly dns: DnsConfig;
  readonly upstreams: readonly HostPort[];
  readonly upstreamTimeoutMs: number;
  readonly block: BlockConfig;
  readonly blocklists: readonly BlocklistConfig[];
  readonly allowlist: readonly string[];
  readonly cache: CacheConfig;
  readonly log: { readonly level: LogLevel };
  /** Directory for poolsink's own state (admin token, last known good lists), resolved against baseDir. */
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly admin: AdminConfig;
}
