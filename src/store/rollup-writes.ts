/**
 * The rollup upserts of a batch (host summaries, per-host and per-name counts, hourly counts (and
 * daily ones for hours of days already compacted: day-rollups.ts), outcome minutes and hours), run
 * by the batch writer inside its transaction, with the per-host name cap: a host's names beyond
 * maxNamesPerHost are counted under OTHER_NAMES (SECURITY.md, log flooding).
 */
import type { DomainTally, HostTally, Rollups } from './batch-writer.js';
import type { SqliteDatabase } from './database.js';
import { dayOf } from './day-rollups-schema.js';
import type { IdentityIds } from './host-identities.js';
import { hourOf } from './schema.js';

export function prepareRollupStatements(db: SqliteDatabase) {
  return {
    keptNames: db.prepare<[string], { kept: number }>('SELECT distinct_domains AS kept FROM hosts WHERE client_ip = ?'),
    keptNameList: db.prepare<[string], string>('SELECT qname FROM host_domains WHERE client_ip = ?').pluck(),
    bumpHostDomain: db.prepare<[number, number, string, string]>(
      `UPDATE host_domains SET count = count + ?, last_seen_ms = max(last_seen_ms, ?) WHERE client_ip = ? AND qname = ?`,
    ),
    newHostDomain: db.prepare<[string, string, number, number]>(
      `INSERT INTO host_domains (client_ip, qname, count, last_seen_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (client_ip, qname) DO NOTHING`,
    ),
    hostDomain: db.prepare<[string, string, number, number]>(
      `INSERT INTO host_domains (client_ip, qname, count, last_seen_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (client_ip, qname) DO UPDATE SET
         count = count + excluded.count, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`,
    ),
    // identity_id: the latest known; a batch without one (address left the inventory) keeps it.
    host: db.prepare<[string, number, number, number, number, number | null]>(
      `INSERT INTO hosts (client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains, identity_id)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (client_ip) DO UPDATE SET
         first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
         last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),
         blocked_count = blocked_count + excluded.blocked_count,
         distinct_domains = distinct_domains + excluded.distinct_domains,
         identity_id = CASE WHEN excluded.identity_id IS NOT NULL AND excluded.last_seen_ms >= last_seen_ms
           THEN excluded.identity_id ELSE identity_id END`,
    ),
    domain: db.prepare<[string, number, number, number]>(
      `INSERT INTO domains (qname, first_seen_ms, last_seen_ms, blocked_count) VALUES (?, ?, ?, ?)
       ON CONFLICT (qname) DO UPDATE SET
         first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
         last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),
         blocked_count = blocked_count + excluded.blocked_count`,
    ),
    hostHour: db.prepare<[string, number, number]>(
      `INSERT INTO host_hours (client_ip, hour_ms, count) VALUES (?, ?, ?)
       ON CONFLICT (client_ip, hour_ms) DO UPDATE SET count = count + excluded.count`,
    ),
    domainHour: db.prepare<[string, number, number]>(
      `INSERT INTO domain_hours (qname, hour_ms, count) VALUES (?, ?, ?)
       ON CONFLICT (qname, hour_ms) DO UPDATE SET count = count + excluded.count`,
    ),
    // Hours of a day already compacted into host_days / domain_days (day-rollups.ts) count there too.
    compactedBelow: db.prepare<[], number>('SELECT compacted_below_ms FROM day_rollups').pluck(),
    hostDay: db.prepare<[string, number, number]>(
      `INSERT INTO host_days (client_ip, day_ms, count) VALUES (?, ?, ?)
       ON CONFLICT (client_ip, day_ms) DO UPDATE SET count = count + excluded.count`,
    ),
    domainDay: db.prepare<[string, number, number]>(
      `INSERT INTO domain_days (qname, day_ms, count) VALUES (?, ?, ?)
       ON CONFLICT (qname, day_ms) DO UPDATE SET count = count + excluded.count`,
    ),
    listHour: db.prepare<[number, string, string, number]>(
      `INSERT INTO list_hours (hour_ms, list, action, count) VALUES (?, ?, ?, ?)
       ON CONFLICT (hour_ms, list, action) DO UPDATE SET count = count + excluded.count`,
    ),
    outcome: db.prepare<[number, string, number]>(
      `INSERT INTO outcome_minutes (minute_ms, outcome, count) VALUES (?, ?, ?)
       ON CONFLICT (minute_ms, outcome) DO UPDATE SET count = count + excluded.count`,
    ),
    outcomeHour: db.prepare<[number, string, number]>(
      `INSERT INTO outcome_hours (hour_ms, outcome, count) VALUES (?, ?, ?)
       ON CONFLICT (hour_ms, outcome) DO UPDATE SET count = count + excluded.count`,
    ),
  };
}

type RollupStatements = ReturnType<typeof prepareRollupStatements>;

function byKey<V>(entries: [string, V][]): [string, V][] {
  return entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** (key, hour, count) rows of an hour → key → count map, in primary key order. */
function keyHourRows(byHour: Map<number, Map<string, number>>): [string, number, number][] {
  const rows: [string, number, number][] = [];
  for (const [hour, counts] of byHour) for (const [key, count] of counts) rows.push([key, hour, count]);
  return sortKeyHour(rows);
}

function sortKeyHour(rows: [string, number, number][]): [string, number, number][] {
  return rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
}

/**
 * The name under which a host's names beyond maxNamesPerHost are counted, in host_domains and
 * domains. Real names never hold upper-case letters (the wire reader lowercases them), so it never
 * collides with one.
 */
export const OTHER_NAMES = 'OTHER-NAMES';

/** Default of database.maxNamesPerHost: distinct names kept per host in host_domains. */
export const MAX_NAMES_PER_HOST = 1000;

export interface BatchWriterLimits {
  /** Distinct names kept per host; the rest are counted under OTHER_NAMES. Default MAX_NAMES_PER_HOST. */
  readonly maxNamesPerHost?: number;
}

/** Names of one host in a rollup write above which a host past its cap has its kept names read at once. */
const KEPT_SET_MIN_NAMES = 64;

/** Counts of names that overflowed a host's cap: moved to OTHER_NAMES in domains and domain_hours too. */
type Overflow = Map<string, number>;

/**
 * Upserts one host's names, at most maxNamesPerHost distinct ones kept (hosts.distinct_domains
 * counts the kept ones, so the cap costs one primary-key read per host, not a COUNT). Returns how
 * many names were added; overflow receives the counts of names that were not kept.
 */
function writeHostNames(
  s: RollupStatements,
  clientIp: string,
  host: HostTally,
  maxNames: number,
  overflow: Overflow,
): number {
  const room = maxNames - (s.keptNames.get(clientIp)?.kept ?? 0);
  let added = 0;
  let otherCount = 0;
  let otherLastMs = 0;
  const fits = host.domains.size <= room;
  // A host past its cap with many names this time (a flood of random names): its kept names read
  // once, instead of one failing UPDATE per new name (measured: most of the rollup cost then).
  const kept = !fits && host.domains.size > KEPT_SET_MIN_NAMES ? new Set(s.keptNameList.all(clientIp)) : undefined;
  // Full (no room) with a kept set: only the names it has are written, so only they are sorted; the
  // others (a flood of random names) go to OTHER_NAMES unsorted.
  let entries: [string, DomainTally][];
  if (room <= 0 && kept !== undefined) {
    entries = [];
    for (const entry of host.domains) {
      const [qname, domain] = entry;
      if (kept.has(qname)) entries.push(entry);
      else {
        otherCount += domain.count;
        if (domain.lastMs > otherLastMs) otherLastMs = domain.lastMs;
        overflow.set(qname, (overflow.get(qname) ?? 0) + domain.count);
      }
    }
    entries = byKey(entries);
  } else entries = byKey([...host.domains]);
  for (const [qname, domain] of entries) {
    if (fits) {
      // Inserted if new, else bumped: cheaper than one upsert with RETURNING (2 µs per new name, 8 per existing).
      if (s.newHostDomain.run(clientIp, qname, domain.count, domain.lastMs).changes > 0) added += 1;
      else s.bumpHostDomain.run(domain.count, domain.lastMs, clientIp, qname);
    } else if (
      (kept === undefined || kept.has(qname)) &&
      s.bumpHostDomain.run(domain.count, domain.lastMs, clientIp, qname).changes > 0
    ) {
      // a name already kept
    } else if (added < room) {
      s.hostDomain.run(clientIp, qname, domain.count, domain.lastMs);
      added += 1;
    } else {
      otherCount += domain.count;
      if (domain.lastMs > otherLastMs) otherLastMs = domain.lastMs;
      overflow.set(qname, (overflow.get(qname) ?? 0) + domain.count);
    }
  }
  if (otherCount > 0) s.hostDomain.run(clientIp, OTHER_NAMES, otherCount, otherLastMs);
  return added;
}

/**
 * Upserts in each table's primary key order: the pages are the same, but SQLite then walks each
 * b-tree forward instead of jumping around it (measured: about twice as fast on a large log).
 * Counts of names that overflowed a host's cap go under OTHER_NAMES in domains and domain_hours
 * as well, so a host querying random names cannot grow those tables either; totals stay right.
 */
export function writeRollups(s: RollupStatements, rollups: Rollups, identities: IdentityIds, maxNames: number): void {
  const overflow: Overflow = new Map();
  for (const [clientIp, host] of byKey([...rollups.hosts])) {
    const added = writeHostNames(s, clientIp, host, maxNames, overflow);
    const identityId = host.identity === undefined ? null : identities.idFor(host.identity);
    s.host.run(clientIp, host.firstMs, host.lastMs, host.count, added, identityId);
  }
  let otherCount = 0;
  let otherFirstMs = Number.MAX_SAFE_INTEGER;
  let otherLastMs = 0;
  // Names moved whole to OTHER_NAMES (a flood past a host's cap) are summed unsorted; only the
  // rows written are sorted.
  const domainRows: [string, DomainTally][] = [];
  for (const entry of rollups.domains) {
    const [qname, domain] = entry;
    const moved = Math.min(overflow.get(qname) ?? 0, domain.count);
    if (moved > 0) {
      otherCount += moved;
      otherFirstMs = Math.min(otherFirstMs, domain.firstMs);
      otherLastMs = Math.max(otherLastMs, domain.lastMs);
    }
    if (domain.count > moved) domainRows.push(moved > 0 ? [qname, { ...domain, count: domain.count - moved }] : entry);
  }
  for (const [qname, domain] of byKey(domainRows)) s.domain.run(qname, domain.firstMs, domain.lastMs, domain.count);
  if (otherCount > 0) s.domain.run(OTHER_NAMES, otherFirstMs, otherLastMs, otherCount);
  const otherHours = new Map<number, number>();
  // A name's overflow is taken from its hours in time order; only the rows written are sorted.
  const hourRows: [string, number, number][] = [];
  for (const hour of [...rollups.domainHours.keys()].sort((a, b) => a - b)) {
    for (const [qname, count] of rollups.domainHours.get(hour) ?? []) {
      const left = overflow.get(qname) ?? 0;
      const moved = Math.min(left, count);
      if (moved > 0) {
        overflow.set(qname, left - moved);
        otherHours.set(hour, (otherHours.get(hour) ?? 0) + moved);
      }
      if (count > moved) hourRows.push([qname, hour, count - moved]);
    }
  }
  // One read per write; an hour below it (a late event of a compacted day) is added to its day row too.
  const compactedBelow = s.compactedBelow.get() ?? Number.MIN_SAFE_INTEGER;
  for (const [qname, hour, count] of sortKeyHour(hourRows)) {
    s.domainHour.run(qname, hour, count);
    if (hour < compactedBelow) s.domainDay.run(qname, dayOf(hour), count);
  }
  for (const [hour, count] of otherHours) {
    s.domainHour.run(OTHER_NAMES, hour, count);
    if (hour < compactedBelow) s.domainDay.run(OTHER_NAMES, dayOf(hour), count);
  }
  for (const [clientIp, hour, count] of keyHourRows(rollups.hostHours)) {
    s.hostHour.run(clientIp, hour, count);
    if (hour < compactedBelow) s.hostDay.run(clientIp, dayOf(hour), count);
  }
  for (const [hour, lists] of rollups.listHours) {
    for (const [list, actions] of lists) {
      for (const [action, count] of actions) s.listHour.run(hour, list, action, count);
    }
  }
  writeOutcomes(s, rollups.outcomes);
}

/**
 * Outcome counts per minute, and the same counts summed per hour into outcome_hours (its rows stay
 * the sums of their minutes: outcome-hours-schema.ts). A write holds a few minutes (the rollups
 * go out every few seconds), so this adds one upsert per hour and outcome.
 */
function writeOutcomes(s: RollupStatements, outcomes: Rollups['outcomes']): void {
  if (outcomes.size === 0) return;
  const byHour = new Map<number, Map<string, number>>();
  for (const [minute, counts] of outcomes) {
    const hour = hourOf(minute);
    let hourCounts = byHour.get(hour);
    if (hourCounts === undefined) {
      hourCounts = new Map();
      byHour.set(hour, hourCounts);
    }
    for (const [outcome, count] of counts) {
      s.outcome.run(minute, outcome, count);
      hourCounts.set(outcome, (hourCounts.get(outcome) ?? 0) + count);
    }
  }
  for (const [hour, counts] of byHour) {
    for (const [outcome, count] of counts) s.outcomeHour.run(hour, outcome, count);
  }
}
