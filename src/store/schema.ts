/**
 * The block log's schema as an ordered list of migrations. `PRAGMA user_version` holds the version
 * of the last one applied; openDatabase() applies the rest, each in its own transaction. To change
 * the schema, append `{ version: 2, description, up }`; never edit a migration that has shipped.
 *
 * Tables (v1):
 * - events: one row per blocked or alerted query, indexed by time, (client, time) and (rname, time);
 *   v1 also indexed (list, time) and (action, time), which v2 drops. `rname` is the qname with its labels reversed and
 *   a trailing dot ("a.pool.com" → "com.pool.a."), so "pool.com and its subdomains" is the index
 *   range ["com.pool.", "com.pool/").
 * - hosts, host_domains, domains: per-host summary, per-host domain counts and per-domain totals,
 *   kept when events are pruned; host_domains and domains rows go after retentionDays, a host keeps
 *   at most maxNamesPerHost names (the rest under OTHER_NAMES, rollup-writes.ts) and domains at most
 *   MAX_DOMAINS rows (retention.ts).
 * - host_hours, domain_hours, list_hours: hourly event counts per host, per qname and per
 *   (list, action), so /stats over a day reads rollup rows instead of every event. Separate narrow
 *   tables rather than one (hour, host, qname, list, action) table: a day of the wide table is
 *   almost as many rows as the events. host_hours and domain_hours are keyed by (key, hour): /stats
 *   takes each host (domain) seen since the window's start from hosts (domains) by last_seen_ms and
 *   sums its few hourly rows with one index seek, which SQLite does several times faster than
 *   grouping the window's rows by key.
 * - outcome_minutes: query outcome counts per minute (forwarded, cached, blocked, ...), plus the
 *   block log's own dropped events under EVENTS_DROPPED_OUTCOME.
 * - host_identities (v3): distinct host identities (inventory or PTR), referenced by
 *   events.identity_id (as recorded) and hosts.identity_id (the latest seen).
 * - runtime_lists, runtime_allowlist, list_state: lists and allowlist entries added over the API,
 *   and each list's fetch state; owned by the list manager.
 * - outbox, outbox_deliveries (v5): notifications and their per-sink delivery state (src/notify/).
 * - miner_logins (v6): stratum logins the honeypot caught (src/honeypot/), each with the incident
 *   it escalated.
 * - query_history, incidents.retro (v7): retro-hunt (query-history-schema.ts).
 * - pool_ips (v8): addresses learned by resolving pool names, per (address, name) (src/pool-ips/).
 * - events.count, events.last_ms (v9): an event row may stand for several queries (coalesced
 *   repeats); counts over events sum `count`.
 * - meta (v10): this database's identity for fleet shipping (database-identity.ts);
 *   runtime_lists.resolve_for_ips (v10): the list's resolveForIps (NULL: the default).
 * - outcome_hours (v11): outcome_minutes summed per hour, for long windows (outcome-hours-schema.ts).
 * - host_days, domain_days, day_rollups (v12): host_hours and domain_hours summed per complete day,
 *   for /stats over long windows (day-rollups-schema.ts).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { DATABASE_IDENTITY_V10 } from './database-identity.js';
import { DAY_ROLLUPS_MIGRATION } from './day-rollups-schema.js';
import { OUTCOME_HOURS_MIGRATION } from './outcome-hours-schema.js';
import { QUERY_HISTORY_MIGRATION } from './query-history-schema.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  /** Runs inside a transaction that also sets user_version; throw to abort the upgrade. */
  up(db: BetterSqlite3.Database): void;
}

/** The outcome under which the event writer records events it had to drop (buffer full). */
export const EVENTS_DROPPED_OUTCOME = 'events_dropped';

/** v6: one row per login; client text and the identity as recorded, like events. */
const MINER_LOGINS_V6 = `
CREATE TABLE miner_logins (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  client_ip TEXT NOT NULL,
  client_port INTEGER NOT NULL,
  port INTEGER NOT NULL,
  tls INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  login TEXT NOT NULL,
  wallet TEXT NOT NULL,
  worker TEXT,
  password TEXT,
  agent TEXT,
  algorithms_json TEXT NOT NULL,
  identity_json TEXT,
  incident_id INTEGER
);
CREATE INDEX miner_logins_time ON miner_logins (time_ms);
CREATE INDEX miner_logins_client_time ON miner_logins (client_ip, time_ms);
CREATE INDEX miner_logins_wallet_time ON miner_logins (wallet, time_ms);
CREATE INDEX miner_logins_incident ON miner_logins (incident_id);
`;

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

export function hourOf(timeMs: number): number {
  return Math.floor(timeMs / HOUR_MS) * HOUR_MS;
}

export function minuteOf(timeMs: number): number {
  return Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
}

const SCHEMA_V1 = `
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  client_ip TEXT NOT NULL,
  client_port INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  qname TEXT NOT NULL,
  rname TEXT NOT NULL,
  qtype INTEGER NOT NULL,
  list TEXT NOT NULL,
  rule TEXT NOT NULL,
  action TEXT NOT NULL,
  answer TEXT NOT NULL,
  via TEXT
);
CREATE INDEX events_time ON events (time_ms);
CREATE INDEX events_client_time ON events (client_ip, time_ms);
CREATE INDEX events_rname_time ON events (rname, time_ms);
CREATE INDEX events_list_time ON events (list, time_ms);
CREATE INDEX events_action_time ON events (action, time_ms);

CREATE TABLE hosts (
  client_ip TEXT PRIMARY KEY,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  blocked_count INTEGER NOT NULL,
  distinct_domains INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX hosts_last_seen ON hosts (last_seen_ms);

CREATE TABLE host_domains (
  client_ip TEXT NOT NULL,
  qname TEXT NOT NULL,
  count INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (client_ip, qname)
) WITHOUT ROWID;
CREATE INDEX host_domains_top ON host_domains (client_ip, count);

CREATE TABLE domains (
  qname TEXT PRIMARY KEY,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  blocked_count INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX domains_last_seen ON domains (last_seen_ms);

CREATE TABLE host_hours (
  client_ip TEXT NOT NULL,
  hour_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (client_ip, hour_ms)
) WITHOUT ROWID;

CREATE TABLE domain_hours (
  qname TEXT NOT NULL,
  hour_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (qname, hour_ms)
) WITHOUT ROWID;

CREATE TABLE list_hours (
  hour_ms INTEGER NOT NULL,
  list TEXT NOT NULL,
  action TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, list, action)
) WITHOUT ROWID;

CREATE TABLE outcome_minutes (
  minute_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (minute_ms, outcome)
) WITHOUT ROWID;

CREATE TABLE runtime_lists (
  name TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  format TEXT NOT NULL,
  mode TEXT NOT NULL,
  refresh_sec INTEGER NOT NULL,
  max_shrink_percent REAL NOT NULL,
  created_ms INTEGER NOT NULL
);

CREATE TABLE runtime_allowlist (
  domain TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL
);

CREATE TABLE list_state (
  name TEXT PRIMARY KEY,
  etag TEXT,
  last_modified TEXT,
  last_fetch_ms INTEGER,
  last_change_ms INTEGER,
  last_error TEXT,
  entries INTEGER
);
`;

/**
 * Migration 4 (src/incidents/): incidents, written by the writer thread in the event batch's
 * transaction. At most one incident per client is open or acknowledged (incidents_active).
 */
const SCHEMA_V4_INCIDENTS = `
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY,
  client_ip TEXT NOT NULL,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  opened_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  distinct_names INTEGER NOT NULL,
  protocols TEXT NOT NULL,
  previous_id INTEGER,
  identity_json TEXT,
  escalation_level INTEGER NOT NULL DEFAULT 0,
  acknowledged_ms INTEGER,
  ack_note TEXT,
  resolved_ms INTEGER,
  resolve_note TEXT,
  resolved_by TEXT
);
CREATE INDEX incidents_client ON incidents (client_ip, id);
CREATE UNIQUE INDEX incidents_active ON incidents (client_ip) WHERE state != 'resolved';
CREATE INDEX incidents_last_seen ON incidents (last_seen_ms);
CREATE TABLE incident_names (
  incident_id INTEGER NOT NULL,
  qname TEXT NOT NULL,
  list TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  PRIMARY KEY (incident_id, qname)
) WITHOUT ROWID;
CREATE TABLE incident_hours (
  incident_id INTEGER NOT NULL,
  hour_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (incident_id, hour_ms)
) WITHOUT ROWID;
CREATE TABLE incident_history (
  incident_id INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  change TEXT NOT NULL,
  state TEXT NOT NULL,
  actor TEXT NOT NULL,
  note TEXT
);
CREATE INDEX incident_history_incident ON incident_history (incident_id, time_ms);
ALTER TABLE events ADD COLUMN incident_id INTEGER;
`;

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    description: 'block log, host summaries, rollups, runtime lists',
    up(db: BetterSqlite3.Database): void {
      db.exec(SCHEMA_V1);
    },
  },
  {
    version: 2,
    description: 'drop the list and action indexes on events (list_hours guides those searches)',
    up(db: BetterSqlite3.Database): void {
      // Each index costs about 2.5 µs per inserted event; these two served only the rare list or
      // action filter, which now scans by time the hours list_hours says hold matches.
      db.exec('DROP INDEX IF EXISTS events_list_time; DROP INDEX IF EXISTS events_action_time;');
    },
  },
  {
    version: 3,
    description: 'host identities captured with events (host_identities, events.identity_id, hosts.identity_id)',
    up(db: BetterSqlite3.Database): void {
      // One row per distinct identity, never updated: an event keeps the identity its address had
      // when it was recorded. `key` is the identity's canonical JSON (UNIQUE over nullable columns
      // would not deduplicate).
      db.exec(`
CREATE TABLE host_identities (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  name TEXT,
  instance_id TEXT,
  account TEXT,
  region TEXT,
  tags_json TEXT,
  source TEXT NOT NULL
);
ALTER TABLE events ADD COLUMN identity_id INTEGER;
ALTER TABLE hosts ADD COLUMN identity_id INTEGER;
`);
    },
  },
  {
    version: 4,
    description: 'incidents: one per host and period of mining activity, their names, hours and history',
    up(db: BetterSqlite3.Database): void {
      db.exec(SCHEMA_V4_INCIDENTS);
    },
  },
  {
    version: 5,
    description: 'notification outbox: messages and their delivery to each sink',
    up(db: BetterSqlite3.Database): void {
      // One row per message (message_id is the UUID receivers deduplicate by), one per (message,
      // sink) delivery; the dispatcher (src/notify/) reads a sink's next pending delivery in id order.
      db.exec(`
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  payload_json TEXT NOT NULL
);
CREATE INDEX outbox_type_created ON outbox (type, created_ms);
CREATE TABLE outbox_deliveries (
  outbox_id INTEGER NOT NULL REFERENCES outbox (id),
  sink TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'held', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER,
  last_error TEXT,
  delivered_ms INTEGER,
  PRIMARY KEY (outbox_id, sink)
) WITHOUT ROWID;
CREATE INDEX outbox_deliveries_sink_state ON outbox_deliveries (sink, state, outbox_id);
`);
    },
  },
  {
    version: 6,
    description: 'miner logins caught by the stratum honeypot',
    up(db: BetterSqlite3.Database): void {
      db.exec(MINER_LOGINS_V6);
    },
  },
  QUERY_HISTORY_MIGRATION,
  {
    version: 8,
    description: 'pool_ips: addresses learned by resolving pool names (src/pool-ips/)',
    up(db: BetterSqlite3.Database): void {
      // One row per (address, name) seen; pool-ips/learner.ts keeps them in memory, expires old ones.
      db.exec(`
CREATE TABLE pool_ips (
  address TEXT NOT NULL,
  name TEXT NOT NULL,
  list TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (address, name)
) WITHOUT ROWID;
CREATE INDEX pool_ips_last_seen ON pool_ips (last_seen_ms);
`);
    },
  },
  {
    version: 9,
    description: 'coalesced events: events.count (queries the row stands for) and events.last_ms',
    up(db: BetterSqlite3.Database): void {
      // The DNS thread sums repeats of one (client, name, type, list, action) within
      // database.coalesceWindowMs into one row (store/event-coalescer.ts): time_ms is the first
      // repeat's time, last_ms the last's (NULL for a single query). Every count sums `count`.
      db.exec(
        'ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 1; ALTER TABLE events ADD COLUMN last_ms INTEGER;',
      );
    },
  },
  {
    version: 10,
    description: 'meta: the database id and its fleet key space; runtime_lists.resolve_for_ips',
    up(db: BetterSqlite3.Database): void {
      db.exec(DATABASE_IDENTITY_V10);
      // NULL: the default (resolved for pool IPs only when the list is named mining-pools).
      db.exec('ALTER TABLE runtime_lists ADD COLUMN resolve_for_ips INTEGER');
    },
  },
  OUTCOME_HOURS_MIGRATION,
  DAY_ROLLUPS_MIGRATION,
]);
