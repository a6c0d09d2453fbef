/**
 * The SQL side of the event writer: one transaction inserts a batch of events (one prepared INSERT
 * per event) and, when given, upserts the rollups accumulated in memory (per host, per host and
 * domain, per domain, per hour, outcome minutes and hours) with one statement per distinct key.
 *
 * Rollups are summed in JS (a Rollups value) and written less often than events, because their
 * upserts land on scattered pages: summing a second of events before writing turns one upsert per
 * event into one per host or domain seen in that second. The bench seeds its database through this
 * same code.
 */
import type { BlockAction, BlockEvent } from '../dns/block-event.js';
import type { HostIdentity } from '../inventory/host-identity.js';
import type { SqliteDatabase } from './database.js';
import { createIdentityIds } from './host-identities.js';
import type { RecordedEvent } from './types.js';
import { reverseName } from './reversed-names.js';
import { MAX_NAMES_PER_HOST, prepareRollupStatements, writeRollups, type BatchWriterLimits } from './rollup-writes.js';
import { hourOf } from './schema.js';

export interface DomainTally {
  count: number;
  firstMs: number;
  lastMs: number;
}

export interface HostTally {
  count: number;
  firstMs: number;
  lastMs: number;
  readonly domains: Map<string, DomainTally>;
  /** The identity of the latest event that had one, and that event's time. */
  identity?: HostIdentity;
  identityMs?: number;
}

/** Event counts summed in memory until the next rollup write. */
export interface Rollups {
  readonly hosts: Map<string, HostTally>;
  readonly domains: Map<string, DomainTally>;
  /** hour_ms → client_ip → count. */
  readonly hostHours: Map<number, Map<string, number>>;
  /** hour_ms → qname → count. */
  readonly domainHours: Map<number, Map<string, number>>;
  /** hour_ms → list → action → count. */
  readonly listHours: Map<number, Map<string, Map<string, number>>>;
  /** minute_ms → outcome → count. */
  readonly outcomes: Map<number, Map<string, number>>;
  /** Distinct keys held (rows the next write upserts, roughly); bounds the memory. */
  keys: number;
}

export function createRollups(): Rollups {
  return {
    hosts: new Map(),
    domains: new Map(),
    hostHours: new Map(),
    domainHours: new Map(),
    listHours: new Map(),
    outcomes: new Map(),
    keys: 0,
  };
}

export function rollupsEmpty(rollups: Rollups): boolean {
  return rollups.keys === 0;
}

function inner<K, V>(rollups: Rollups, outer: Map<K, V>, key: K, make: () => V): V {
  let value = outer.get(key);
  if (value === undefined) {
    value = make();
    outer.set(key, value);
    rollups.keys += 1;
  }
  return value;
}

function newCounts(): Map<string, number> {
  return new Map();
}

function newListCounts(): Map<string, Map<string, number>> {
  return new Map();
}

function bump(rollups: Rollups, counts: Map<string, number>, key: string, n: number): void {
  const before = counts.get(key);
  if (before === undefined) rollups.keys += 1;
  counts.set(key, (before ?? 0) + n);
}

function tally(
  rollups: Rollups,
  tallies: Map<string, DomainTally>,
  key: string,
  n: number,
  firstMs: number,
  lastMs: number,
): void {
  const existing = tallies.get(key);
  if (existing === undefined) {
    tallies.set(key, { count: n, firstMs, lastMs });
    rollups.keys += 1;
    return;
  }
  existing.count += n;
  if (firstMs < existing.firstMs) existing.firstMs = firstMs;
  if (lastMs > existing.lastMs) existing.lastMs = lastMs;
}

/**
 * Events of one client, name, list and action that were counted but not stored as rows (dropped
 * while the buffer was full): they still count in the host and domain summaries and the hourly
 * rollups, so "which host tried which pool, how often" survives a flood.
 */
export interface EventTally {
  readonly clientIp: string;
  readonly qname: string;
  readonly list: string;
  readonly action: BlockAction;
  readonly count: number;
  readonly firstMs: number;
  readonly lastMs: number;
}

/**
 * Adds `n` events of one client, name, list and action, seen from firstMs to lastMs, to the hour
 * of hourOfMs (default lastMs).
 */
function addCounted(
  rollups: Rollups,
  clientIp: string,
  qname: string,
  list: string,
  action: string,
  n: number,
  firstMs: number,
  lastMs: number,
  hourOfMs = lastMs,
): void {
  let host = rollups.hosts.get(clientIp);
  if (host === undefined) {
    host = { count: 0, firstMs, lastMs, domains: new Map() };
    rollups.hosts.set(clientIp, host);
    rollups.keys += 1;
  }
  host.count += n;
  if (firstMs < host.firstMs) host.firstMs = firstMs;
  if (lastMs > host.lastMs) host.lastMs = lastMs;
  tally(rollups, host.domains, qname, n, firstMs, lastMs);
  tally(rollups, rollups.domains, qname, n, firstMs, lastMs);
  const hour = hourOf(hourOfMs);
  bump(rollups, inner(rollups, rollups.hostHours, hour, newCounts), clientIp, n);
  bump(rollups, inner(rollups, rollups.domainHours, hour, newCounts), qname, n);
  bump(rollups, inner(rollups, inner(rollups, rollups.listHours, hour, newListCounts), list, newCounts), action, n);
}

/** Adds tallies of events that were not stored to the rollups. */
export function addTallies(rollups: Rollups, tallies: readonly EventTally[]): void {
  for (const tally of tallies) {
    const { clientIp, qname, list, action, count, firstMs, lastMs } = tally;
    if (Number.isInteger(count) && count > 0)
      addCounted(rollups, clientIp, qname, list, action, count, firstMs, lastMs);
  }
}

/** Adds events[start, end) to the rollups. */
export function addEvents(rollups: Rollups, events: readonly RecordedEvent[], start: number, end: number): void {
  for (let i = start; i < end; i += 1) {
    const event = events[i];
    if (event === undefined) continue;
    // A coalesced row counts in the hour of its time_ms, as /stats counts the events at its edges.
    const n = event.count ?? 1;
    const lastMs = event.lastMs ?? event.timeMs;
    addCounted(rollups, event.clientIp, event.qname, event.list, event.action, n, event.timeMs, lastMs, event.timeMs);
    if (event.identity !== undefined) {
      const host = rollups.hosts.get(event.clientIp);
      if (host !== undefined && !(event.timeMs < (host.identityMs ?? Number.NEGATIVE_INFINITY))) {
        host.identity = event.identity;
        host.identityMs = event.timeMs;
      }
    }
  }
}

/** Adds `n` to an outcome's count for the minute starting at minuteMs. */
export function addOutcome(rollups: Rollups, minuteMs: number, outcome: string, n: number): void {
  bump(rollups, inner(rollups, rollups.outcomes, minuteMs, newCounts), outcome, n);
}

/**
 * Work done inside each batch's transaction besides the events and rollups (incidents,
 * src/incidents/): beforeInsert returns each event's incident id (index - start), or null; then
 * committed() or rolledBack() says how the transaction ended.
 */
export interface EventBatchHook {
  beforeInsert(events: readonly BlockEvent[], start: number, end: number): readonly (number | null)[];
  committed(): void;
  rolledBack(): void;
}

export interface BatchWriter {
  /**
   * One transaction: inserts events[start, end), then upserts `rollups` if given. Throws what
   * SQLite throws; nothing is written then.
   */
  write(events: readonly RecordedEvent[], start: number, end: number, rollups: Rollups | undefined): void;
}

type EventRow = [
  number,
  string,
  number,
  string,
  string,
  string,
  number,
  string,
  string,
  string,
  string,
  string | null,
  number | null,
  number | null,
  number,
  number | null,
];

export function createBatchWriter(
  db: SqliteDatabase,
  hook?: EventBatchHook,
  limits: BatchWriterLimits = {},
): BatchWriter {
  const maxNames = limits.maxNamesPerHost ?? MAX_NAMES_PER_HOST;
  const insertEvent = db.prepare<EventRow>(
    `INSERT INTO events (time_ms, client_ip, client_port, protocol, qname, rname, qtype, list, rule, action, answer, via, incident_id, identity_id, count, last_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const rollupStatements = prepareRollupStatements(db);
  const identities = createIdentityIds(db);
  const transaction = db.transaction(
    (events: readonly RecordedEvent[], start: number, end: number, rollups: Rollups | undefined) => {
      const incidentIds = hook?.beforeInsert(events, start, end);
      for (let i = start; i < end; i += 1) {
        const event = events[i];
        if (event === undefined) continue;
        const { timeMs, clientIp, clientPort, protocol, qname, qtype, list, rule, action, answer } = event;
        insertEvent.run(
          timeMs,
          clientIp,
          clientPort,
          protocol,
          qname,
          reverseName(qname),
          qtype,
          list,
          rule,
          action,
          answer,
          event.via ?? null,
          incidentIds?.[i - start] ?? null,
          event.identity === undefined ? null : identities.idFor(event.identity),
          event.count ?? 1,
          event.lastMs ?? null,
        );
      }
      if (rollups !== undefined) writeRollups(rollupStatements, rollups, identities, maxNames);
    },
  );
  return {
    write(events, start, end, rollups): void {
      try {
        transaction.immediate(events, start, end, rollups);
      } catch (err: unknown) {
        identities.forget(); // ids inserted by the rolled-back transaction are gone
        hook?.rolledBack();
        throw err;
      }
      hook?.committed();
    },
  };
}
