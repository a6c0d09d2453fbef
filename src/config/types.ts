/**
 * The loaded configuration. Sections whose values need no conversion are the schema's own types
 * (schema.ts); the rest hold what load.ts made of the text (addresses, CIDRs, absolute paths).
 */
import type { HostPort, Cidr } from '../net/address.js';
import type { ListSpec } from './list-schema.js';
import type { ConfigFile } from './schema.js';
import type { NotificationType } from '../notify/notification.js';
import type { CentralConfig } from './central-config.js';

export { BLOCK_RESPONSES, LOG_LEVELS, RATE_LIMIT_ACTIONS } from './schema.js';
export { LIST_FORMATS, LIST_MODES } from './list-schema.js';

type DeepReadonly<T> = T extends readonly (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type FileSection<K extends keyof ConfigFile> = DeepReadonly<ConfigFile[K]>;

export type LogLevel = ConfigFile['log']['level'];

export interface RateLimitConfig extends Omit<FileSection<'dns'>['rateLimit'], 'burst'> {
  readonly burst: number;
}

export interface DnsConfig extends Omit<FileSection<'dns'>, 'listen' | 'allowClients' | 'rateLimit'> {
  readonly listen: readonly HostPort[];
  readonly allowClients: readonly Cidr[];
  readonly rateLimit: RateLimitConfig;
}

export type BlockConfig = FileSection<'block'>;

/** A list from the configuration file: the list definition schema, every field set. */
export type BlocklistConfig = ListSpec;

export type CacheConfig = FileSection<'cache'>;

export interface DatabaseConfig extends Omit<FileSection<'database'>, 'path'> {
  /** SQLite file, resolved against baseDir. */
  readonly path: string;
}

export interface AdminConfig {
  readonly listen: HostPort;
  /** Exactly one of token / tokenFile, or neither: then a token is generated into dataDir/admin-token. */
  readonly token?: string;
  readonly tokenFile?: string;
  readonly metricsAuth: boolean;
  readonly hostnames: readonly string[];
  readonly maxConnectionsPerClient: number;
}

export interface InventoryFileConfig {
  /** Absolute path (resolved against baseDir). */
  readonly source: string;
  readonly format: FileSection<'hosts'>['inventory'][number]['format'];
}

export interface HostsConfig {
  readonly inventory: readonly InventoryFileConfig[];
  readonly reverseDns: boolean;
}

export interface HoneypotConfig extends Omit<FileSection<'honeypot'>, 'listen' | 'tlsListen'> {
  readonly listen: readonly HostPort[];
  readonly tlsListen: readonly HostPort[];
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
  readonly incidents: FileSection<'incidents'>;
  /** Query history for retro-hunts (opt-in). */
  readonly history: FileSection<'history'>;
  readonly notify: readonly NotifySinkConfig[];
  readonly hosts: HostsConfig;
  /** Learned pool IPs (src/pool-ips/); `exclude` holds checked CIDRs. */
  readonly poolIps: FileSection<'poolIps'>;
  readonly honeypot: HoneypotConfig;
  /** Destinations and files of lists added over the API; fileSourceDir resolved against baseDir. */
  readonly lists: { readonly allowPrivateSources: readonly string[]; readonly fileSourceDir?: string };
  /** This resolver's name in a fleet (events shipped to central.postgres carry it). */
  readonly instance: { readonly name: string };
  /** The fleet's shared PostgreSQL (src/central/); empty: this instance stands alone. */
  readonly central: CentralConfig;
}

/** A notification sink as loaded (notify-config.ts): files read, the address parsed. */
interface NotifySinkBase {
  readonly name: string;
  readonly events: readonly NotificationType[];
  readonly timeoutMs: number;
  readonly perMinute: number;
}

export type NotifySinkConfig =
  | (NotifySinkBase & {
      readonly type: 'webhook';
      readonly url: string;
      /** The HMAC secret read from secretFile; absent: unsigned. */
      readonly secret?: string;
      readonly headers: Readonly<Record<string, string>>;
    })
  | (NotifySinkBase & { readonly type: 'slack'; readonly url: string })
  | (NotifySinkBase & {
      readonly type: 'syslog';
      readonly host: string;
      readonly port: number;
      readonly transport: 'udp' | 'tcp' | 'tls';
      /** PEM text of caFile. */
      readonly ca?: string;
      readonly servername?: string;
    });
