import type { HostPort, Cidr } from '../net/address.js';
import type { BlockResponseKind } from '../dns/wire.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LIST_FORMATS = ['auto', 'hosts', 'domains', 'adblock'] as const;
export const LIST_MODES = ['block', 'alert'] as const;
export const BLOCK_RESPONSES = ['nxdomain', 'nodata', 'null', 'refused', 'sinkhole'] as const;

export interface DnsConfig {
  readonly listen: readonly HostPort[];
  readonly allowClients: readonly Cidr[];
  readonly tcpIdleTimeoutMs: number;
  readonly tcpMaxConnections: number;
  readonly tcpMaxConnectionsPerClient: number;
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
}

export interface CacheConfig {
  readonly maxEntries: number;
  readonly minTtlSec: number;
  readonly maxTtlSec: number;
  readonly serveStaleSec: number;
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
}
