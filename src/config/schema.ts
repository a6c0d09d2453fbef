/**
 * The configuration file, every key once, with its range and its default beside it. The schema is
 * the source of the file's TypeScript type and of its validator (validate.ts); load.ts then turns
 * the few values JSON Schema cannot check (addresses, CIDRs, paths, cross-field rules) into Config.
 * Unknown keys are rejected at every level. Objects default to `{}` so their own defaults apply.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { BLOCK_RESPONSES } from '../wire/block-answer.js';
import { EVENT_BATCH_SIZE, FLUSH_INTERVAL_MS, MAX_BUFFERED_EVENTS } from './defaults.js';
import { ListSpecSchema } from './list-schema.js';
import { INVENTORY_FORMATS } from '../inventory/inventory-entry.js';
import { stringEnum } from './schema-types.js';
import { NOTIFICATION_TYPES } from '../notify/notification.js';
import { CentralSchema, InstanceSchema } from './central-schema.js';
/** `secret: true` marks a value GET /api/v1/config masks (secrets.ts). */
const SECRET = { secret: true } as const;

export { BLOCK_RESPONSES, EVENT_BATCH_SIZE };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const RATE_LIMIT_ACTIONS = ['refuse', 'drop'] as const;

export const DEFAULT_ALLOW_CLIENTS = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  'fc00::/7',
] as const;

function section<P extends Record<string, TSchema>>(properties: P) {
  return Type.Object(properties, { additionalProperties: false, default: {} });
}

function int(minimum: number, maximum: number, defaultValue: number, description?: string) {
  return Type.Integer({
    minimum,
    maximum,
    default: defaultValue,
    ...(description !== undefined ? { description } : {}),
  });
}

function stringList(defaultValue: readonly string[], extra: Record<string, unknown> = {}) {
  return Type.Array(Type.String(), { default: [...defaultValue], ...extra });
}

/** A path, resolved against the configuration file's directory. */
function pathSchema(options: { default?: string } = {}) {
  return Type.String({
    pattern: '^(?=.*\\S)[^\\u0000]+$',
    errorMessage: 'must be a non-empty path without NUL',
    ...options,
  });
}

const PoolIpsSchema = section({
  learn: Type.Boolean({
    default: true,
    description: 'Resolve the names of lists with resolveForIps periodically and learn their addresses',
  }),
  mode: stringEnum(['block', 'alert'] as const, {
    default: 'alert',
    description: 'What a forwarded answer pointing at a learned address gets: alert (recorded) or block',
  }),
  startDelayMs: int(0, 86_400_000, 30_000, 'Time from start to the first resolving round (lists load first)'),
  resolveIntervalMs: int(1_000, 7 * 86_400_000, 21_600_000, 'Time from the end of one resolving round to the next'),
  maxQueriesPerSecond: int(1, 100, 5, 'Upstream queries per second the learner sends at most'),
  expireAfterDays: int(1, 365, 14, 'A learned address not seen again for this long is forgotten'),
  maxDomainsPerAddress: int(
    1,
    1_000,
    3,
    'An address that names under more domains than this resolve to is shared hosting, not learned',
  ),
  exclude: stringList([], { description: 'CIDRs never learned, beyond the built-in private and shared CDN ranges' }),
});

const DnsSchema = section({
  listen: stringList(['127.0.0.1:5353'], { minItems: 1, errorMessage: { minItems: 'needs at least one address' } }),
  allowClients: stringList(DEFAULT_ALLOW_CLIENTS),
  allowOpenResolver: Type.Boolean({
    default: false,
    description: 'Let allowClients hold a /0 CIDR (0.0.0.0/0, ::/0): an open resolver, refused otherwise',
  }),
  tcpIdleTimeoutMs: int(100, 600_000, 10_000),
  tcpReadTimeoutMs: int(100, 600_000, 5_000, 'A TCP message must arrive whole within this long of its first byte'),
  tcpFirstQueryTimeoutMs: int(100, 600_000, 2_000, 'A new TCP connection must send a whole query within this long'),
  tcpMaxConnections: int(1, 100_000, 1_000),
  /** Small, so that a handful of (allowed) addresses cannot take every one of tcpMaxConnections. */
  tcpMaxConnectionsPerClient: int(1, 100_000, 8),
  maxUdpPayload: int(512, 4096, 1232, 'UDP answers never exceed this many bytes (larger ones are truncated, TC=1)'),
  upstreamUdpSize: int(512, 4096, 1232, 'EDNS payload size poolsink advertises to upstreams, whatever the client'),
  nsid: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'NSID (RFC 5001) sent to clients that ask for one; off when unset',
    }),
  ),
  ecs: stringEnum(['strip', 'forward'] as const, {
    default: 'strip',
    description: 'Client Subnet from clients: strip before forwarding, or forward (and cache per subnet)',
  }),
  workers: Type.Union([Type.Integer({ minimum: 1, maximum: 256 }), Type.Literal('auto')], {
    default: 1,
    description:
      'Resolver processes sharing the DNS sockets (node:cluster): 1 answers in the main process; auto is one per core',
  }),
  rateLimit: section({
    qps: int(0, 10_000_000, 1_000, 'Sustained queries per second per client address; 0 turns rate limiting off'),
    /** Default: twice qps (at least 1), set by load.ts. */
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
    action: stringEnum(RATE_LIMIT_ACTIONS, { default: 'refuse' }),
  }),
});

const BlockSchema = section({
  response: stringEnum(BLOCK_RESPONSES, { default: 'nxdomain' }),
  sinkholeIpv4: Type.String({ default: '192.0.2.1' }),
  sinkholeIpv6: Type.String({ default: '100::1' }),
  ttlSec: int(0, 86_400, 60),
});

const CacheSchema = section({
  maxEntries: int(0, 50_000_000, 100_000),
  minTtlSec: int(0, 86_400, 0),
  maxTtlSec: int(0, 604_800, 86_400),
  serveStaleSec: int(0, 604_800, 86_400),
});

const DatabaseSchema = section({
  /** Default: <dataDir>/poolsink.db, set by load.ts. */
  path: Type.Optional(pathSchema()),
  retentionDays: int(1, 36_500, 90),
  maxEvents: int(1_000, 2_000_000_000, 50_000_000),
  // Host summaries stay bounded (SECURITY.md): names beyond this per host count as OTHER-NAMES.
  maxNamesPerHost: int(10, 1_000_000, 1000, 'Distinct blocked names kept per host'),
  maxBufferedEvents: int(1_000, 10_000_000, MAX_BUFFERED_EVENTS, 'Block events buffered in memory at most'),
  flushIntervalMs: int(10, 60_000, FLUSH_INTERVAL_MS),
  // Repeats of one (client, name, type, list, action) within the window are one row with a count.
  coalesceWindowMs: int(
    0,
    3_600_000,
    10_000,
    'Repeated blocked queries summed into one row for this long; 0: a row each',
  ),
});

const AdminSchema = section({
  listen: Type.String({ default: '127.0.0.1:8053' }),
  token: Type.Optional(
    Type.String({
      minLength: 16,
      pattern: '^\\S+$',
      errorMessage: 'must be a string of at least 16 characters without spaces',
      ...SECRET,
    }),
  ),
  tokenFile: Type.Optional(pathSchema()),
  metricsAuth: Type.Boolean({ default: true }),
  /** Host-header names accepted besides IP literals and localhost (DNS rebinding defence). */
  hostnames: Type.Array(
    Type.String({
      pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9.])?$',
      errorMessage: 'must be a host name (letters, digits, "." and "-")',
    }),
    { default: [], description: 'Names the API answers to in Host besides IP addresses and localhost' },
  ),
  maxConnectionsPerClient: int(1, 10_000, 16, 'Admin connections from one address; more are closed at once'),
});

/** The stratum honeypot behind the sinkhole (src/honeypot/); off while both lists are empty. */
const HoneypotSchema = section({
  listen: stringList([], { description: 'Plain stratum addresses (host:port), e.g. 0.0.0.0:3333' }),
  tlsListen: stringList([], { description: 'Stratum-over-TLS addresses (a self-signed certificate in dataDir)' }),
  maxConnections: int(1, 100_000, 256, 'Honeypot connections open at once; more are closed at once'),
  maxConnectionsPerClient: int(1, 10_000, 4, 'Honeypot connections from one address; more are closed at once'),
  maxLineBytes: int(64, 1_048_576, 4096, 'A longer stratum line cuts the connection'),
  maxBytesPerConnection: int(64, 16_777_216, 16_384, 'Bytes one connection may send in all'),
  loginTimeoutMs: int(10, 600_000, 10_000, 'A connection must log in within this long (TLS handshake included)'),
});

export const NOTIFY_SINK_TYPES = ['webhook', 'slack', 'syslog'] as const;
export const SYSLOG_TRANSPORTS = ['udp', 'tcp', 'tls'] as const;

/** One notification sink; load.ts (notify-config.ts) checks the keys each type needs. */
const NotifySinkSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      errorMessage: 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    }),
    type: stringEnum(NOTIFY_SINK_TYPES),
    events: Type.Array(stringEnum(NOTIFICATION_TYPES), { minItems: 1, uniqueItems: true }),
    /** webhook, slack: http(s) URL (secret: a Slack or webhook URL is often its own credential). */
    url: Type.Optional(Type.String(SECRET)),
    /** webhook: file holding the HMAC secret (trimmed); without it messages go unsigned. */
    secretFile: Type.Optional(pathSchema()),
    headers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String(), SECRET)),
    /** syslog: host:port. */
    address: Type.Optional(Type.String()),
    transport: Type.Optional(stringEnum(SYSLOG_TRANSPORTS)),
    caFile: Type.Optional(pathSchema()),
    servername: Type.Optional(Type.String()),
    timeoutMs: int(100, 120_000, 10_000, 'One delivery attempt waits this long at most'),
    rateLimit: section({ perMinute: int(1, 100_000, 30, 'Messages a minute; more are held and summarised') }),
  },
  { additionalProperties: false },
);
/** Host identity (src/inventory/): inventory files mapping addresses to machines, and reverse DNS. */
const HostsSchema = section({
  inventory: Type.Array(
    Type.Object(
      {
        /** A file path, resolved against the configuration file's directory; reloaded when it changes. */
        source: pathSchema(),
        format: stringEnum(INVENTORY_FORMATS, { default: 'auto' }),
      },
      { additionalProperties: false },
    ),
    { default: [] },
  ),
  reverseDns: Type.Boolean({
    default: false,
    description: 'Look up PTR names through the upstreams for clients no inventory names',
  }),
});

/**
 * Query history (retro-hunt, README "Retro-hunt"): one row per (client, name, hour) of forwarded or
 * cached answers, so a name a list gains later can be searched back. Opt-in: it is a record of who
 * resolved what.
 */
const HistorySchema = section({
  enabled: Type.Boolean({
    default: false,
    description: 'Keep one row per (client, name, hour) of answered queries for retro-hunts',
  }),
  retainDays: int(1, 365, 7, 'Rows older than this many days are deleted'),
  maxRows: int(1_000, 1_000_000_000, 5_000_000, 'Rows kept at most (the oldest hours are deleted first)'),
  maxPerHour: int(100, 10_000_000, 200_000, 'New (client, name) pairs recorded per hour at most; more are counted'),
});

export const ConfigFileSchema = Type.Object(
  {
    dns: DnsSchema,
    /** Default: the nameservers of /etc/resolv.conf, read by load.ts. */
    upstreams: Type.Optional(Type.Array(Type.String())),
    upstreamTimeoutMs: int(50, 30_000, 1_500),
    block: BlockSchema,
    blocklists: Type.Array(ListSpecSchema, { default: [] }),
    allowlist: stringList([]),
    cache: CacheSchema,
    log: section({ level: stringEnum(LOG_LEVELS, { default: 'info' }) }),
    dataDir: pathSchema({ default: 'data' }),
    database: DatabaseSchema,
    admin: AdminSchema,
    /** Incidents (src/incidents/); a list's severity is blocklists[].severity. */
    incidents: section({
      enabled: Type.Boolean({
        default: true,
        description: 'Keep incidents from block events (false: the block log only)',
      }),
      autoResolveHours: int(1, 87_600, 72, 'An incident without attempts for this long resolves itself'),
    }),
    notify: Type.Array(NotifySinkSchema, { default: [] }),
    /** Query history for retro-hunts (src/store/query-history.ts); off unless enabled. */
    history: HistorySchema,
    hosts: HostsSchema,
    /** Pool IPs learned by resolving list names (src/pool-ips/), for response-IP blocking and the firewall feed. */
    poolIps: PoolIpsSchema,
    honeypot: HoneypotSchema,
    /** Where lists added over the admin API may be fetched from or read (issue 11: no SSRF). */
    lists: section({
      allowPrivateSources: stringList([], {
        description: 'CIDRs or hostnames that URL lists added over the API may reach though private or loopback',
      }),
      /** The only directory for file lists added over the API; absent: none are accepted. */
      fileSourceDir: Type.Optional(pathSchema()),
    }),
    /** A fleet (src/central/): this instance's name and the shared PostgreSQL. */
    instance: InstanceSchema,
    central: CentralSchema,
  },
  { additionalProperties: false },
);

/** The file as validated, defaults filled in. */
export type ConfigFile = Static<typeof ConfigFileSchema>;
