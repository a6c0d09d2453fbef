/**
 * The central PostgreSQL schema, versioned like the SQLite one (src/store/schema.ts) but counted on
 * its own. Each instance migrates at start inside one transaction holding a transaction-level
 * advisory lock, so instances starting together apply each migration exactly once and the others
 * wait, then find nothing left to do. A database newer than this poolsink is refused.
 */
import type pg from 'pg';
import { PoolsinkError } from '../errors.js';

export interface CentralMigration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** The advisory lock key of migrations (any constant bigint; "psink" in ASCII). */
const MIGRATION_LOCK_KEY = 0x7073696e6b;

export const CENTRAL_MIGRATIONS: readonly CentralMigration[] = Object.freeze([
  {
    version: 1,
    description: 'fleet: instances with their shipping cursor, events, hosts, shared lists and allowlist, incidents',
    sql: `
CREATE TABLE central_instances (
  name text PRIMARY KEY,
  last_local_id bigint NOT NULL DEFAULT 0,
  shipped_events bigint NOT NULL DEFAULT 0,
  last_shipped_ms bigint,
  seen_ms bigint NOT NULL
);
-- One row per event per instance; (instance, local_id) is the idempotency key of shipping.
-- Keyset pages read (time_ms, id) newest first; filters have their own (x, time_ms) indexes.
CREATE TABLE central_events (
  id bigserial NOT NULL,
  instance text NOT NULL,
  local_id bigint NOT NULL,
  time_ms bigint NOT NULL,
  client_ip text NOT NULL,
  client_port int NOT NULL,
  protocol text NOT NULL,
  qname text NOT NULL,
  rname text COLLATE "C" NOT NULL,
  qtype int NOT NULL,
  list text NOT NULL,
  rule text NOT NULL,
  action text NOT NULL,
  answer text NOT NULL,
  via text,
  -- Queries the row stands for and the last one's time (coalesced repeats, SQLite events v9).
  count int NOT NULL DEFAULT 1,
  last_ms bigint,
  identity jsonb,
  PRIMARY KEY (instance, local_id)
);
CREATE INDEX central_events_time ON central_events (time_ms DESC, id DESC);
CREATE INDEX central_events_client ON central_events (client_ip, time_ms DESC, id DESC);
CREATE INDEX central_events_rname ON central_events (rname, time_ms DESC, id DESC);
CREATE INDEX central_events_instance ON central_events (instance, time_ms DESC, id DESC);
-- Per host and instance: counts kept as events ship (so /fleet/hosts never scans events).
CREATE TABLE central_hosts (
  client_ip text NOT NULL,
  instance text NOT NULL,
  first_seen_ms bigint NOT NULL,
  last_seen_ms bigint NOT NULL,
  blocked_count bigint NOT NULL,
  identity jsonb,
  PRIMARY KEY (client_ip, instance)
);
CREATE INDEX central_hosts_last_seen ON central_hosts (last_seen_ms DESC);
CREATE TABLE central_allowlist (
  domain text PRIMARY KEY,
  created_ms bigint NOT NULL,
  created_by text NOT NULL
);
CREATE TABLE central_lists (
  name text PRIMARY KEY,
  definition jsonb NOT NULL,
  updated_ms bigint NOT NULL,
  updated_by text NOT NULL
);
-- One incident per host across the fleet while open or acknowledged; notified_by is the instance
-- that claimed its notification (exactly one).
CREATE TABLE central_incidents (
  id bigserial PRIMARY KEY,
  client_ip text NOT NULL,
  state text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
  opened_ms bigint NOT NULL,
  last_seen_ms bigint NOT NULL,
  attempts bigint NOT NULL,
  instances text[] NOT NULL,
  identity jsonb,
  notified_ms bigint,
  notified_by text,
  acknowledged_ms bigint,
  ack_note text,
  resolved_ms bigint,
  resolved_by text
);
CREATE UNIQUE INDEX central_incidents_active ON central_incidents (client_ip) WHERE state <> 'resolved';
CREATE INDEX central_incidents_unnotified ON central_incidents (id) WHERE notified_ms IS NULL;
CREATE INDEX central_incidents_last_seen ON central_incidents (state, last_seen_ms);
`,
  },
  {
    version: 2,
    description: 'fleet: miner logins shipped by a second cursor; incidents carry severity, names and escalation',
    sql: `
ALTER TABLE central_instances ADD COLUMN last_login_id bigint NOT NULL DEFAULT 0;
ALTER TABLE central_instances ADD COLUMN shipped_logins bigint NOT NULL DEFAULT 0;
-- One row per login per instance; (instance, local_id) is the idempotency key, as for events.
CREATE TABLE central_miner_logins (
  id bigserial NOT NULL,
  instance text NOT NULL,
  local_id bigint NOT NULL,
  time_ms bigint NOT NULL,
  client_ip text NOT NULL,
  client_port int NOT NULL,
  port int NOT NULL,
  tls boolean NOT NULL,
  protocol text NOT NULL,
  login text NOT NULL,
  wallet text NOT NULL,
  worker text,
  password text,
  agent text,
  algorithms jsonb NOT NULL,
  identity jsonb,
  incident_id bigint,
  PRIMARY KEY (instance, local_id)
);
CREATE INDEX central_miner_logins_time ON central_miner_logins (time_ms DESC, id DESC);
CREATE INDEX central_miner_logins_client ON central_miner_logins (client_ip, time_ms DESC, id DESC);
CREATE INDEX central_miner_logins_wallet ON central_miner_logins (wallet, time_ms DESC, id DESC);
CREATE INDEX central_miner_logins_instance ON central_miner_logins (instance, time_ms DESC, id DESC);
-- The higher of two severities (low < medium < high < critical).
CREATE FUNCTION poolsink_severity_max(a text, b text) RETURNS text IMMUTABLE LANGUAGE sql AS $fn$
  SELECT CASE WHEN array_position(ARRAY['low','medium','high','critical'], b)
                 > array_position(ARRAY['low','medium','high','critical'], a) THEN b ELSE a END
$fn$;
-- severity: the highest of the instances' list severities, critical after a miner login.
-- names: the distinct names tried, first seen first, the first 100 kept.
-- escalated_ms: the first miner login; its incident.escalated is claimed once (escalation_notified_*).
ALTER TABLE central_incidents ADD COLUMN severity text NOT NULL DEFAULT 'high'
  CHECK (severity IN ('low', 'medium', 'high', 'critical'));
ALTER TABLE central_incidents ADD COLUMN names text[] NOT NULL DEFAULT '{}';
ALTER TABLE central_incidents ADD COLUMN logins bigint NOT NULL DEFAULT 0;
ALTER TABLE central_incidents ADD COLUMN escalated_ms bigint;
ALTER TABLE central_incidents ADD COLUMN escalation_reason text;
ALTER TABLE central_incidents ADD COLUMN escalation_notified_ms bigint;
ALTER TABLE central_incidents ADD COLUMN escalation_notified_by text;
CREATE INDEX central_incidents_unescalated ON central_incidents (id)
  WHERE escalated_ms IS NOT NULL AND escalation_notified_ms IS NULL;
`,
  },
  {
    version: 3,
    description: 'fleet: central_events partitioned by UTC day (time_ms), dropped whole by retention',
    sql: `
ALTER TABLE central_events RENAME TO central_events_v2;
ALTER INDEX central_events_pkey RENAME TO central_events_v2_pkey;
ALTER INDEX central_events_time RENAME TO central_events_v2_time;
ALTER INDEX central_events_client RENAME TO central_events_v2_client;
ALTER INDEX central_events_rname RENAME TO central_events_v2_rname;
ALTER INDEX central_events_instance RENAME TO central_events_v2_instance;
-- One partition per UTC day (event-partitions.ts names, creates and drops them), a default one for
-- an event of a day that has none yet. A unique key must hold the partition key: (instance,
-- local_id, time_ms) is the idempotency key of shipping (a local event's time_ms never changes).
CREATE TABLE central_events (
  id bigint NOT NULL DEFAULT nextval('central_events_id_seq'),
  instance text NOT NULL,
  local_id bigint NOT NULL,
  time_ms bigint NOT NULL,
  client_ip text NOT NULL,
  client_port int NOT NULL,
  protocol text NOT NULL,
  qname text NOT NULL,
  rname text COLLATE "C" NOT NULL,
  qtype int NOT NULL,
  list text NOT NULL,
  rule text NOT NULL,
  action text NOT NULL,
  answer text NOT NULL,
  via text,
  count int NOT NULL DEFAULT 1,
  last_ms bigint,
  identity jsonb,
  PRIMARY KEY (instance, local_id, time_ms)
) PARTITION BY RANGE (time_ms);
ALTER SEQUENCE central_events_id_seq OWNED BY central_events.id;
CREATE INDEX central_events_time ON central_events (time_ms DESC, id DESC);
CREATE INDEX central_events_client ON central_events (client_ip, time_ms DESC, id DESC);
CREATE INDEX central_events_rname ON central_events (rname, time_ms DESC, id DESC);
CREATE INDEX central_events_instance ON central_events (instance, time_ms DESC, id DESC);
CREATE TABLE central_events_default PARTITION OF central_events DEFAULT;
-- The partition of one UTC day (day = floor(time_ms / 86400000)), created unless it exists; rows of
-- that day waiting in the default partition move into it. Callers hold the maintenance lock.
CREATE FUNCTION poolsink_event_partition(day bigint) RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
  part text := 'central_events_p' || to_char(timestamp 'epoch' + day * interval '1 day', 'YYYYMMDD');
  low bigint := day * 86400000;
  high bigint := (day + 1) * 86400000;
BEGIN
  IF to_regclass(part) IS NOT NULL THEN
    RETURN false;
  END IF;
  -- No event may enter the default partition between the move and the attach (it would fail the attach).
  LOCK TABLE central_events_default IN EXCLUSIVE MODE;
  EXECUTE format('CREATE TABLE %I (LIKE central_events INCLUDING DEFAULTS)', part);
  EXECUTE format(
    'WITH moved AS (DELETE FROM central_events_default WHERE time_ms >= %s AND time_ms < %s RETURNING *) '
    'INSERT INTO %I SELECT * FROM moved', low, high, part);
  EXECUTE format('ALTER TABLE central_events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', part, low, high);
  RETURN true;
END
$fn$;
-- Version 2's rows, each day into its partition.
SELECT poolsink_event_partition(day)
FROM (SELECT DISTINCT floor(time_ms / 86400000.0)::bigint AS day FROM central_events_v2) AS days;
INSERT INTO central_events (id, instance, local_id, time_ms, client_ip, client_port, protocol, qname, rname, qtype,
  list, rule, action, answer, via, count, last_ms, identity)
SELECT id, instance, local_id, time_ms, client_ip, client_port, protocol, qname, rname, qtype,
  list, rule, action, answer, via, count, last_ms, identity
FROM central_events_v2;
DROP TABLE central_events_v2;
`,
  },
  {
    version: 4,
    description:
      'fleet: shipping cursors kept per key space (retention may empty one), client CIDR indexes on hosts and logins',
    sql: `
-- The shipping cursor of each (instance, key space): the highest local id shipped of each stream.
-- Until version 4 it was max(local_id) within the key space; retention of logins may delete every
-- row of one, and the cursor must not fall back with them (the database would ship its log again).
-- database_id: the local database that ships under the key space (null for rows from before).
CREATE TABLE central_key_spaces (
  instance text NOT NULL,
  epoch int NOT NULL,
  database_id text,
  last_event_id bigint NOT NULL DEFAULT 0,
  last_login_id bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (instance, epoch)
);
-- The cursors so far, from the rows shipped: per instance, key space by key space from the
-- highest down (a few index seeks each, whatever the number of rows).
DO $seed$
DECLARE
  inst text;
  tab text;
  bound bigint;
  top bigint;
  space int;
BEGIN
  FOR inst IN SELECT name FROM central_instances LOOP
    FOREACH tab IN ARRAY ARRAY['central_events', 'central_miner_logins'] LOOP
      bound := NULL;
      LOOP
        EXECUTE format('SELECT max(local_id) FROM %I WHERE instance = $1 AND ($2::bigint IS NULL OR local_id < $2)', tab)
          INTO top USING inst, bound;
        EXIT WHEN top IS NULL;
        space := (top >> 48)::int;
        IF tab = 'central_events' THEN
          INSERT INTO central_key_spaces (instance, epoch, last_event_id)
          VALUES (inst, space, top & 281474976710655);
        ELSE
          INSERT INTO central_key_spaces (instance, epoch, last_login_id)
          VALUES (inst, space, top & 281474976710655)
          ON CONFLICT (instance, epoch) DO UPDATE SET last_login_id = EXCLUDED.last_login_id;
        END IF;
        bound := space::bigint << 48;
      END LOOP;
    END LOOP;
  END LOOP;
END
$seed$;
-- A client address as inet for the CIDR filters; null for text that is none (an empty address of a
-- socket gone; a zone, "fe80::1%eth0", is read without it), so no insert fails on one. PARALLEL
-- UNSAFE: its exception block is a subtransaction, which a parallel plan may not start.
CREATE FUNCTION poolsink_client_inet(ip text) RETURNS inet IMMUTABLE STRICT PARALLEL UNSAFE LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN split_part(ip, '%', 1)::inet;
EXCEPTION WHEN invalid_text_representation THEN
  RETURN NULL;
END
$fn$;
-- client_inet: client_ip as inet, kept by a trigger (rows of any poolsink version get it), read by
-- the CIDR filters through a GiST index; a plain column, so a filter the index does not serve
-- (a wide CIDR) costs no function call per row.
CREATE FUNCTION poolsink_set_client_inet() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.client_inet := poolsink_client_inet(NEW.client_ip);
  RETURN NEW;
END
$fn$;
ALTER TABLE central_hosts ADD COLUMN client_inet inet;
UPDATE central_hosts SET client_inet = poolsink_client_inet(client_ip);
CREATE TRIGGER central_hosts_client_inet BEFORE INSERT OR UPDATE OF client_ip ON central_hosts
  FOR EACH ROW EXECUTE FUNCTION poolsink_set_client_inet();
CREATE INDEX central_hosts_client_inet ON central_hosts USING gist (client_inet inet_ops);
ALTER TABLE central_miner_logins ADD COLUMN client_inet inet;
UPDATE central_miner_logins SET client_inet = poolsink_client_inet(client_ip);
CREATE TRIGGER central_miner_logins_client_inet BEFORE INSERT OR UPDATE OF client_ip ON central_miner_logins
  FOR EACH ROW EXECUTE FUNCTION poolsink_set_client_inet();
CREATE INDEX central_miner_logins_client_inet ON central_miner_logins USING gist (client_inet inet_ops);
-- The partition of one UTC day (version 3's), its lock taken in one step.
CREATE OR REPLACE FUNCTION poolsink_event_partition(day bigint) RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
  part text := 'central_events_p' || to_char(timestamp 'epoch' + day * interval '1 day', 'YYYYMMDD');
  low bigint := day * 86400000;
  high bigint := (day + 1) * 86400000;
BEGIN
  IF to_regclass(part) IS NOT NULL THEN
    RETURN false;
  END IF;
  -- No event may enter the default partition between the move and the attach (it would fail the
  -- attach). ACCESS EXCLUSIVE at once, the mode the attach needs: taking EXCLUSIVE first and more at
  -- the attach deadlocked with a shipping batch that had read the table (its cursor) and then
  -- inserted an event of a day without partition.
  LOCK TABLE central_events_default IN ACCESS EXCLUSIVE MODE;
  EXECUTE format('CREATE TABLE %I (LIKE central_events INCLUDING DEFAULTS)', part);
  EXECUTE format(
    'WITH moved AS (DELETE FROM central_events_default WHERE time_ms >= %s AND time_ms < %s RETURNING *) '
    'INSERT INTO %I SELECT * FROM moved', low, high, part);
  EXECUTE format('ALTER TABLE central_events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', part, low, high);
  RETURN true;
END
$fn$;
-- The logins of an incident, deleted with it by retention.
CREATE INDEX central_miner_logins_incident ON central_miner_logins (incident_id) WHERE incident_id IS NOT NULL;
`,
  },
]);

export function latestCentralVersion(): number {
  return CENTRAL_MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
}

/** Applies what is missing; returns the version now in effect. ERR_STORE_SCHEMA for a newer database. */
export async function migrateCentral(client: pg.ClientBase): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS poolsink_schema (
  version int PRIMARY KEY,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`);
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM poolsink_schema',
    );
    const current = rows[0]?.version ?? 0;
    const latest = latestCentralVersion();
    if (current > latest) {
      throw new PoolsinkError(
        'ERR_STORE_SCHEMA',
        `the central PostgreSQL schema is version ${current}, newer than this poolsink understands (${latest}): upgrade poolsink`,
      );
    }
    for (const migration of CENTRAL_MIGRATIONS) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO poolsink_schema (version, description) VALUES ($1, $2)', [
        migration.version,
        migration.description,
      ]);
    }
    await client.query('COMMIT');
    return latest;
  } catch (err: unknown) {
    await client.query('ROLLBACK').catch(() => undefined); // the connection may be gone; the error says why
    throw err;
  }
}
