/**
 * /stats over the hourly rollups. Whole hours come from host_hours, domain_hours and list_hours; a
 * window that starts inside an hour is made exact with the events of the part of that hour nearer
 * its edge, never more than half an hour of them:
 *
 * - since in the hour's second half: rollups from the next hour, plus the events [since, next hour);
 * - since in the first half: rollups from the hour itself, minus the events [hour, since).
 *
 * If that half hour holds more than edgeScanMaxEvents events, the window starts at the hour instead
 * and Stats.sinceMs says so. Outcome counts are per minute: the window's first minute counts whole.
 */
import type { SqliteDatabase } from './database.js';
import { EVENTS_DROPPED_OUTCOME, HOUR_MS, hourOf, minuteOf } from './schema.js';
import type { Stats } from './types.js';

interface CountRow {
  key: string;
  count: number;
}

interface EdgeRow {
  client_ip: string;
  qname: string;
  list: string;
}

interface WindowParams {
  activeSince: number;
  fromHour: number;
  /** SQLite's LIMIT -1: no limit. */
  limit: number;
}

/**
 * The hosts (domains) active since activeSince, each with the sum of its hourly rows from fromHour:
 * one index seek per key, largest first. MATERIALIZED keeps SQLite from evaluating the correlated
 * sum once per use.
 */
function topSql(keyColumn: string, summaryTable: string, hoursTable: string): string {
  return `WITH window_counts AS MATERIALIZED (
      SELECT ${keyColumn} AS key,
        (SELECT sum(count) FROM ${hoursTable} h WHERE h.${keyColumn} = s.${keyColumn} AND h.hour_ms >= @fromHour) AS count
      FROM ${summaryTable} s WHERE last_seen_ms >= @activeSince)
    SELECT key, count FROM window_counts WHERE count > 0 ORDER BY count DESC, key LIMIT @limit`;
}

export function prepareStatsStatements(db: SqliteDatabase) {
  return {
    topDomains: db.prepare<WindowParams, CountRow>(topSql('qname', 'domains', 'domain_hours')),
    topHosts: db.prepare<WindowParams, CountRow>(topSql('client_ip', 'hosts', 'host_hours')),
    listCounts: db.prepare<[number], CountRow>('SELECT list AS key, sum(count) AS count FROM list_hours WHERE hour_ms >= ? GROUP BY list'),
    outcomes: db.prepare<[number], CountRow>(
      'SELECT outcome AS key, sum(count) AS count FROM outcome_minutes WHERE minute_ms >= ? GROUP BY outcome',
    ),
    edgeCount: db.prepare<[number, number], { n: number }>(
      'SELECT count(*) AS n FROM events INDEXED BY events_time WHERE time_ms >= ? AND time_ms < ?',
    ),
    edgeEvents: db.prepare<[number, number], EdgeRow>(
      'SELECT client_ip, qname, list FROM events INDEXED BY events_time WHERE time_ms >= ? AND time_ms < ?',
    ),
  };
}

export type StatsStatements = ReturnType<typeof prepareStatsStatements>;

function countsOf(rows: readonly CountRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.key, row.count);
  return counts;
}

function add(counts: Map<string, number>, key: string, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** The `limit` largest positive counts, ties by key. */
function top(counts: Map<string, number>, limit: number): [string, number][] {
  const entries = [...counts].filter((entry) => entry[1] > 0);
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (entries.length > limit) entries.length = limit;
  return entries;
}

interface Window {
  /** Where the counted window starts (sinceMs, or the hour before it when the edge is too busy). */
  readonly startMs: number;
  /** Rollup rows from this hour on are counted. */
  readonly fromHour: number;
  /** Events in [edgeFromMs, edgeToMs) are added (+1) or subtracted (-1); none when sign is 0. */
  readonly edgeFromMs: number;
  readonly edgeToMs: number;
  readonly sign: 1 | -1 | 0;
}

function windowFor(s: StatsStatements, sinceMs: number, edgeScanMaxEvents: number): Window {
  const hour = hourOf(sinceMs);
  const whole: Window = { startMs: hour, fromHour: hour, edgeFromMs: 0, edgeToMs: 0, sign: 0 };
  if (sinceMs === hour) return whole;
  const window: Window =
    sinceMs - hour >= HOUR_MS / 2
      ? { startMs: sinceMs, fromHour: hour + HOUR_MS, edgeFromMs: sinceMs, edgeToMs: hour + HOUR_MS, sign: 1 }
      : { startMs: sinceMs, fromHour: hour, edgeFromMs: hour, edgeToMs: sinceMs, sign: -1 };
  const edgeEvents = s.edgeCount.get(window.edgeFromMs, window.edgeToMs)?.n ?? 0;
  return edgeEvents <= edgeScanMaxEvents ? window : whole;
}

export function queryStats(s: StatsStatements, sinceMs: number, topLimit: number, edgeScanMaxEvents: number): Stats {
  const window = windowFor(s, sinceMs, edgeScanMaxEvents);
  const lists = countsOf(s.listCounts.all(window.fromHour));
  let topDomains: [string, number][];
  let topHosts: [string, number][];
  if (window.sign === 0) {
    const params = { activeSince: window.startMs, fromHour: window.fromHour, limit: topLimit };
    topDomains = top(countsOf(s.topDomains.all(params)), topLimit);
    topHosts = top(countsOf(s.topHosts.all(params)), topLimit);
  } else {
    // Every active key's rollup count, adjusted by the edge's events, then the top.
    const params = { activeSince: Math.min(window.startMs, window.fromHour), fromHour: window.fromHour, limit: -1 };
    const domains = countsOf(s.topDomains.all(params));
    const hosts = countsOf(s.topHosts.all(params));
    for (const row of s.edgeEvents.all(window.edgeFromMs, window.edgeToMs)) {
      add(domains, row.qname, window.sign);
      add(hosts, row.client_ip, window.sign);
      add(lists, row.list, window.sign);
    }
    topDomains = top(domains, topLimit);
    topHosts = top(hosts, topLimit);
  }
  const outcomeRows = s.outcomes.all(minuteOf(window.startMs));
  return {
    sinceMs: window.startMs,
    outcomes: Object.fromEntries(outcomeRows.filter((r) => r.key !== EVENTS_DROPPED_OUTCOME).map((r) => [r.key, r.count])),
    droppedEvents: outcomeRows.find((r) => r.key === EVENTS_DROPPED_OUTCOME)?.count ?? 0,
    topDomains: topDomains.map(([domain, count]) => ({ domain, count })),
    topHosts: topHosts.map(([clientIp, count]) => ({ clientIp, count })),
    perList: top(lists, Number.MAX_SAFE_INTEGER).map(([list, count]) => ({ list, count })),
  };
}
