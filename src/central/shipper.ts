/**
 * Ships the local block log to the fleet's PostgreSQL: an outbox read by id cursor. Each batch is
 * one PostgreSQL transaction that locks this instance's row (central_instances), finds this local
 * database's key space and cursor (key-space.ts: keyed by instance, database and local id, so a
 * replaced SQLite file ships its own events from its first), inserts the events with
 * ON CONFLICT (instance, local_id, time_ms) DO NOTHING (time_ms: the partition key), adds the newly
 * inserted ones to central_hosts and the fleet incidents, and moves the cursor. A batch that fails
 * (PostgreSQL away, restarted mid-batch) rolls back whole and is shipped again later: never lost,
 * never twice. An event whose day has no partition yet (a backlog after the whole fleet was away for
 * days) lands in the default one: the shipper then asks for a maintenance pass (onDefaultPartition),
 * which moves it into its day. After each batch, open incidents nobody has notified are claimed
 * (central-incidents.ts).
 * Miner logins (the honeypot's) ship the same way by a second cursor (login-shipping.ts).
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { Severity } from '../incidents/incident-state.js';
import type { LocalLoginRow } from './login-columns.js';
import { shipLoginBatch } from './login-shipping.js';
import type { LocalDatabaseIdentity } from '../store/database-identity.js';
import { advanceCursor, keySpaceOf } from './key-space.js';
import type { CentralDb } from './central-db.js';
import { CENTRAL_EVENT_INSERT, toCentralColumns, type LocalEventRow } from './event-columns.js';
import {
  MAX_INCIDENT_NAMES,
  autoResolve,
  claimEscalations,
  claimNotifications,
  foldIntoIncidents,
  type CentralIncident,
  type HostBatch,
} from './central-incidents.js';

export interface ShipperOptions {
  readonly db: CentralDb;
  readonly instance: string;
  /** The local database's id and key space (store/database-identity.ts). */
  readonly identity: LocalDatabaseIdentity;
  readonly readBatch: (afterId: number, limit: number) => readonly LocalEventRow[];
  /** The honeypot's miner logins after a local id (absent: no second stream). */
  readonly readLogins?: (afterId: number, limit: number) => readonly LocalLoginRow[];
  readonly batchSize: number;
  readonly intervalMs: number;
  readonly log: Logger;
  /** Absent: incidents are not kept centrally (incidents.enabled false). */
  readonly incidents?: {
    readonly autoResolveMs: number;
    /** Called with the incidents this instance claimed the notification of. */
    readonly onOpened: (incidents: readonly CentralIncident[]) => void;
    /** Called with the escalated incidents (a miner login) this instance claimed the notification of. */
    readonly onEscalated: (incidents: readonly CentralIncident[]) => void;
    /** An event's severity at this instance (its list's blocklists[].severity, else by action). */
    readonly severityOf: (list: string, action: string) => Severity;
  };
  readonly clock?: () => number;
  /** Called after a batch that put events into the default partition (their day had none). */
  readonly onDefaultPartition?: () => void;
}

export interface ShipperStats {
  /** Events this process inserted centrally. */
  readonly shipped: number;
  /** The central cursor as last seen (the last local id shipped, in this database's key space). */
  readonly cursor: number;
  readonly batches: number;
  /** Miner logins this process inserted centrally. */
  readonly shippedLogins: number;
}

export interface Shipper {
  /** Ships until caught up (or until PostgreSQL fails); resolves with the events inserted. */
  shipNow(): Promise<number>;
  stats(): ShipperStats;
  stop(): Promise<void>;
}

const AUTO_RESOLVE_EVERY_MS = 60_000;

interface InsertedRow {
  client_ip: string;
  time_ms: string;
  last_ms: string | null;
  count: number;
  identity: unknown;
  qname: string;
  list: string;
  action: string;
  in_default: boolean;
}

type SeverityOf = (list: string, action: string) => Severity;

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

function perHost(rows: readonly InsertedRow[], severityOf: SeverityOf): HostBatch[] {
  const hosts = new Map<
    string,
    {
      clientIp: string;
      firstMs: number;
      lastMs: number;
      count: number;
      identity: unknown;
      severity: Severity;
      names: Set<string>;
    }
  >();
  for (const row of rows) {
    const severity = severityOf(row.list, row.action);
    const timeMs = Number(row.time_ms);
    // A coalesced row covers `count` queries from time_ms to last_ms.
    const lastMs = row.last_ms === null ? timeMs : Number(row.last_ms);
    const host = hosts.get(row.client_ip);
    if (host === undefined) {
      hosts.set(row.client_ip, {
        clientIp: row.client_ip,
        firstMs: timeMs,
        lastMs,
        count: row.count,
        identity: row.identity,
        severity,
        names: new Set([row.qname]),
      });
      continue;
    }
    host.count += row.count;
    if (SEVERITY_RANK[severity] > SEVERITY_RANK[host.severity]) host.severity = severity;
    if (host.names.size < MAX_INCIDENT_NAMES) host.names.add(row.qname);
    if (timeMs < host.firstMs) host.firstMs = timeMs;
    if (lastMs >= host.lastMs) {
      host.lastMs = lastMs;
      if (row.identity !== null) host.identity = row.identity;
    }
  }
  return [...hosts.values()].map((host) => ({ ...host, names: [...host.names] }));
}

export function startShipper(options: ShipperOptions): Shipper {
  const { db, instance, log, batchSize } = options;
  const clock = options.clock ?? Date.now;
  let shipped = 0;
  let cursor = 0;
  let batches = 0;
  let shippedLogins = 0;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastAutoResolveMs = 0;

  /** One batch in one transaction; the number of local events it covered (0: caught up). */
  async function shipBatch(): Promise<number> {
    let intoDefault = false;
    const covered = await db.transaction(async (client) => {
      const nowMs = clock();
      // Locks the instance's row: one batch of this instance at a time, key spaces claimed once.
      await client.query(
        `INSERT INTO central_instances (name, seen_ms) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET seen_ms = EXCLUDED.seen_ms`,
        [instance, nowMs],
      );
      const keySpace = await keySpaceOf(client, 'events', { instance, identity: options.identity, log });
      cursor = keySpace.cursor;
      const events = options.readBatch(cursor, batchSize);
      const last = events[events.length - 1];
      if (last === undefined) return 0;
      const inserted = await client.query<InsertedRow>(
        `${CENTRAL_EVENT_INSERT} RETURNING client_ip, time_ms, last_ms, count, identity, qname, list, action,
  tableoid = 'central_events_default'::regclass AS in_default`,
        toCentralColumns(instance, events, keySpace.epoch),
      );
      intoDefault = inserted.rows.some((row) => row.in_default);
      const hosts = perHost(inserted.rows, options.incidents?.severityOf ?? (() => 'high'));
      if (hosts.length > 0) {
        await client.query(
          `INSERT INTO central_hosts (client_ip, instance, first_seen_ms, last_seen_ms, blocked_count, identity)
SELECT ip, $6, first_ms, last_ms, n, ident
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::jsonb[]) AS t(ip, first_ms, last_ms, n, ident)
ON CONFLICT (client_ip, instance) DO UPDATE SET
  first_seen_ms = LEAST(central_hosts.first_seen_ms, EXCLUDED.first_seen_ms),
  last_seen_ms = GREATEST(central_hosts.last_seen_ms, EXCLUDED.last_seen_ms),
  blocked_count = central_hosts.blocked_count + EXCLUDED.blocked_count,
  identity = COALESCE(EXCLUDED.identity, central_hosts.identity)`,
          [
            hosts.map((h) => h.clientIp),
            hosts.map((h) => h.firstMs),
            hosts.map((h) => h.lastMs),
            hosts.map((h) => h.count),
            hosts.map((h) => (h.identity === null || h.identity === undefined ? null : JSON.stringify(h.identity))),
            instance,
          ],
        );
        if (options.incidents !== undefined) await foldIntoIncidents(client, instance, hosts);
      }
      await client.query(
        `UPDATE central_instances SET last_local_id = $2, shipped_events = shipped_events + $3, last_shipped_ms = $4
WHERE name = $1`,
        [instance, last.id, inserted.rowCount ?? 0, nowMs],
      );
      await advanceCursor(client, 'events', instance, keySpace, last.id);
      cursor = last.id;
      shipped += inserted.rowCount ?? 0;
      batches += 1;
      return events.length;
    });
    if (intoDefault) options.onDefaultPartition?.();
    return covered;
  }

  async function incidentsAfterBatch(): Promise<void> {
    const incidents = options.incidents;
    if (incidents === undefined) return;
    const nowMs = clock();
    const claimed = await db.withClient(async (client) => {
      if (nowMs - lastAutoResolveMs >= AUTO_RESOLVE_EVERY_MS) {
        lastAutoResolveMs = nowMs;
        await autoResolve(client, nowMs, incidents.autoResolveMs);
      }
      return claimNotifications(client, instance, nowMs);
    });
    if (claimed.length > 0) incidents.onOpened(claimed);
    const escalated = await db.withClient((client) => claimEscalations(client, instance, nowMs));
    if (escalated.length > 0) incidents.onEscalated(escalated);
  }

  /** Miner logins until caught up; each batch one transaction, like the events'. */
  async function shipLogins(readLogins: NonNullable<ShipperOptions['readLogins']>): Promise<void> {
    for (;;) {
      const batch = await db.transaction((client) =>
        shipLoginBatch(client, {
          instance,
          identity: options.identity,
          log,
          readLogins,
          batchSize,
          nowMs: clock(),
          incidents: options.incidents !== undefined,
        }),
      );
      shippedLogins += batch.inserted;
      if (batch.covered < batchSize || stopped) break;
    }
  }

  async function shipUntilCaughtUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const covered = await shipBatch();
      total += covered;
      if (covered < batchSize || stopped) break;
    }
    if (options.readLogins !== undefined) await shipLogins(options.readLogins);
    await incidentsAfterBatch();
    return total;
  }

  function shipNow(): Promise<number> {
    running ??= shipUntilCaughtUp().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      shipNow()
        .catch((err: unknown) => {
          // central-db has logged the outage and marked /healthz; the next tick tries again.
          log.debug({ err: errorMessage(err) }, 'shipping to central PostgreSQL failed; retrying');
        })
        .finally(schedule);
    }, options.intervalMs);
    timer.unref();
  }
  schedule();

  return {
    shipNow,
    stats: () => ({ shipped, cursor, batches, shippedLogins }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined); // a failed last batch is shipped at the next start
    },
  };
}
