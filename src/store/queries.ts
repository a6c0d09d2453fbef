/**
 * What the admin API and CLI read from the block log. Inputs are checked here too (limits, times,
 * cursors), so a bad value is an ERR_INVALID naming the parameter, never an SQL error; text values
 * are bound parameters, so quotes, SQL or LIKE metacharacters simply match nothing.
 *
 * /hosts reads the per-host summary (kept when events are pruned). /stats reads the hourly rollups:
 * whole hours from the rollup tables, and the part of the first hour after `sinceMs` from the events
 * themselves when that hour holds at most EDGE_SCAN_MAX_EVENTS events; otherwise the window starts at
 * the hour's beginning, and Stats.sinceMs says so.
 */
import { PoolsinkError } from '../errors.js';
import { preparedFor, type SqliteDatabase, type StoreConnection } from './database.js';
import { createSearchStatements, searchEvents } from './event-search.js';
import { EVENTS_DROPPED_OUTCOME, HOUR_MS, hourOf, minuteOf } from './schema.js';
import type { DomainCount, EventCursor, EventFilter, EventPage, EventQueries, HostSummary, Stats, StoredEvent } from './types.js';

/** Largest page events() returns; larger exports go through iterateEvents(). */
export const MAX_PAGE_LIMIT = 10_000;
/** Largest `limit` for hosts() and `topLimit` for stats(). */
export const MAX_LIST_LIMIT = 10_000;
export const TOP_DOMAINS_PER_HOST = 5;
/** A first partial hour with at most this many events is counted exactly from the events table. */
export const EDGE_SCAN_MAX_EVENTS = 20_000;
const ITERATE_CHUNK = 1000;

interface HostRow {
  client_ip: string;
  first_seen_ms: number;
  last_seen_ms: number;
  blocked_count: number;
  distinct_domains: number;
}

interface CountRow {
  key: string;
  count: number;
}

interface WindowParams {
  activeSince: number;
  fromHour: number;
  limit: number;
}

interface EdgeRow {
  client_ip: string;
  qname: string;
  list: string;
}

function invalid(message: string): PoolsinkError {
  return new PoolsinkError('ERR_INVALID', message);
}

function checkLimit(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
}

function checkTime(name: string, value: number | undefined): void {
  if (value !== undefined && !Number.isSafeInteger(value)) throw invalid(`${name} must be a time in ms since the epoch (got ${String(value)})`);
}

function checkFilter(filter: EventFilter): void {
  checkTime('since', filter.sinceMs);
  checkTime('until', filter.untilMs);
}

function checkCursor(cursor: EventCursor | undefined): void {
  if (cursor !== undefined && (!Number.isSafeInteger(cursor.timeMs) || !Number.isSafeInteger(cursor.id))) {
    throw invalid('cursor is not one this server returned');
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    search: createSearchStatements(db),
    hosts: db.prepare<[number], HostRow>(
      `SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains FROM hosts
       ORDER BY last_seen_ms DESC, client_ip DESC LIMIT ?`,
    ),
    hostsSince: db.prepare<[number, number], HostRow>(
      `SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains FROM hosts
       WHERE last_seen_ms >= ? ORDER BY last_seen_ms DESC, client_ip DESC LIMIT ?`,
    ),
    host: db.prepare<[string], HostRow>(
      'SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains FROM hosts WHERE client_ip = ?',
    ),
    topDomainsOfHost: db.prepare<[string, number], CountRow>(
      `SELECT qname AS key, count FROM host_domains INDEXED BY host_domains_top
       WHERE client_ip = ? ORDER BY count DESC, qname DESC LIMIT ?`,
    ),
    outcomes: db.prepare<[number], CountRow>(
      'SELECT outcome AS key, sum(count) AS count FROM outcome_minutes WHERE minute_ms >= ? GROUP BY outcome',
    ),
    hourTotal: db.prepare<[number], { count: number | null }>('SELECT sum(count) AS count FROM list_hours WHERE hour_ms = ?'),
    // The hosts (domains) active in the window, each with its hourly rows from fromHour on: one
    // index seek per key, the largest first.
    topDomains: db.prepare<WindowParams, CountRow>(
      `SELECT key, count FROM (SELECT qname AS key,
         (SELECT sum(count) FROM domain_hours h WHERE h.qname = domains.qname AND h.hour_ms >= @fromHour) AS count
         FROM domains WHERE last_seen_ms >= @activeSince)
       WHERE count > 0 ORDER BY count DESC, key LIMIT @limit`,
    ),
    topHosts: db.prepare<WindowParams, CountRow>(
      `SELECT key, count FROM (SELECT client_ip AS key,
         (SELECT sum(count) FROM host_hours h WHERE h.client_ip = hosts.client_ip AND h.hour_ms >= @fromHour) AS count
         FROM hosts WHERE last_seen_ms >= @activeSince)
       WHERE count > 0 ORDER BY count DESC, key LIMIT @limit`,
    ),
    domainCount: db.prepare<[string, number], { count: number | null }>(
      'SELECT sum(count) AS count FROM domain_hours WHERE qname = ? AND hour_ms >= ?',
    ),
    hostCount: db.prepare<[string, number], { count: number | null }>(
      'SELECT sum(count) AS count FROM host_hours WHERE client_ip = ? AND hour_ms >= ?',
    ),
    listCounts: db.prepare<[number], CountRow>(
      'SELECT list AS key, sum(count) AS count FROM list_hours WHERE hour_ms >= ? GROUP BY list',
    ),
    edgeEvents: db.prepare<[number, number], EdgeRow>(
      'SELECT client_ip, qname, list FROM events INDEXED BY events_time WHERE time_ms >= ? AND time_ms < ?',
    ),
  };
}

function countsOf(rows: readonly CountRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.key, row.count);
  return counts;
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/**
 * The top `limit` of rollup counts plus the first partial hour's counts (`edge`). Exact: a key
 * outside the rollup's top (limit + edge keys) that is not an edge key cannot outrank the at least
 * `limit` non-edge keys inside it, and each edge key's rollup count is looked up on its own.
 */
function topWithEdge(
  topOfRollup: (limit: number) => CountRow[],
  rollupCountOf: (key: string) => number,
  edge: Map<string, number>,
  limit: number,
): [string, number][] {
  const counts = countsOf(topOfRollup(limit + edge.size));
  for (const [key, n] of edge) counts.set(key, (counts.get(key) ?? rollupCountOf(key)) + n);
  return top(counts, limit);
}

/** The `limit` largest counts, ties by key, as [key, count] pairs. */
function top(counts: Map<string, number>, limit: number): [string, number][] {
  const entries = [...counts];
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (entries.length > limit) entries.length = limit;
  return entries;
}

export interface EventQueriesOptions {
  /** Events in the window's first partial hour up to which stats() counts it exactly. Default EDGE_SCAN_MAX_EVENTS. */
  readonly edgeScanMaxEvents?: number;
}

export function createEventQueries(connection: StoreConnection, options: EventQueriesOptions = {}): EventQueries {
  const statements = preparedFor(connection, prepareStatements);
  const edgeScanMaxEvents = options.edgeScanMaxEvents ?? EDGE_SCAN_MAX_EVENTS;

  function events(filter: EventFilter, limit: number, cursor?: EventCursor): EventPage {
    checkLimit('limit', limit, 1, MAX_PAGE_LIMIT);
    checkFilter(filter);
    checkCursor(cursor);
    return searchEvents(statements().search, filter, limit, cursor);
  }

  function summary(row: HostRow): HostSummary {
    const topDomains: DomainCount[] = statements()
      .topDomainsOfHost.all(row.client_ip, TOP_DOMAINS_PER_HOST)
      .map((r) => ({ domain: r.key, count: r.count }));
    return {
      clientIp: row.client_ip,
      firstSeenMs: row.first_seen_ms,
      lastSeenMs: row.last_seen_ms,
      blockedCount: row.blocked_count,
      distinctDomains: row.distinct_domains,
      topDomains,
    };
  }

  return {
    events,

    *iterateEvents(filter: EventFilter): Iterable<StoredEvent> {
      checkFilter(filter);
      let cursor: EventCursor | undefined;
      for (;;) {
        const page = events(filter, ITERATE_CHUNK, cursor);
        yield* page.events;
        if (page.nextCursor === undefined) return;
        cursor = page.nextCursor;
      }
    },

    hosts(sinceMs: number | undefined, limit: number): readonly HostSummary[] {
      checkTime('since', sinceMs);
      checkLimit('limit', limit, 1, MAX_LIST_LIMIT);
      const s = statements();
      const rows = sinceMs === undefined ? s.hosts.all(limit) : s.hostsSince.all(sinceMs, limit);
      return rows.map(summary);
    },

    host(clientIp: string, recentLimit: number) {
      checkLimit('limit', recentLimit, 0, MAX_PAGE_LIMIT);
      const row = statements().host.get(clientIp);
      if (row === undefined) return undefined;
      const recent = recentLimit === 0 ? [] : events({ client: clientIp }, recentLimit).events;
      return { summary: summary(row), recent };
    },

    stats(sinceMs: number, topLimit: number): Stats {
      checkTime('since', sinceMs);
      checkLimit('top', topLimit, 1, MAX_LIST_LIMIT);
      const s = statements();
      const firstHour = hourOf(sinceMs);
      let fromHour = firstHour;
      let windowStartMs = firstHour;
      let edge: EdgeRow[] = [];
      if (sinceMs !== firstHour && (s.hourTotal.get(firstHour)?.count ?? 0) <= edgeScanMaxEvents) {
        fromHour = firstHour + HOUR_MS;
        windowStartMs = sinceMs;
        edge = s.edgeEvents.all(sinceMs, fromHour);
      }
      const edgeDomains = new Map<string, number>();
      const edgeHosts = new Map<string, number>();
      const lists = countsOf(s.listCounts.all(fromHour));
      for (const row of edge) {
        bump(edgeDomains, row.qname);
        bump(edgeHosts, row.client_ip);
        bump(lists, row.list);
      }
      const activeSince = windowStartMs;
      const topDomains = topWithEdge(
        (limit) => s.topDomains.all({ activeSince, fromHour, limit }),
        (key) => s.domainCount.get(key, fromHour)?.count ?? 0,
        edgeDomains,
        topLimit,
      );
      const topHosts = topWithEdge(
        (limit) => s.topHosts.all({ activeSince, fromHour, limit }),
        (key) => s.hostCount.get(key, fromHour)?.count ?? 0,
        edgeHosts,
        topLimit,
      );
      const outcomeRows = s.outcomes.all(minuteOf(windowStartMs));
      const outcomes = Object.fromEntries(outcomeRows.filter((r) => r.key !== EVENTS_DROPPED_OUTCOME).map((r) => [r.key, r.count]));
      const droppedEvents = outcomeRows.find((r) => r.key === EVENTS_DROPPED_OUTCOME)?.count ?? 0;
      return {
        sinceMs: windowStartMs,
        outcomes,
        droppedEvents,
        topDomains: topDomains.map(([domain, count]) => ({ domain, count })),
        topHosts: topHosts.map(([clientIp, count]) => ({ clientIp, count })),
        perList: top(lists, Number.MAX_SAFE_INTEGER).map(([list, count]) => ({ list, count })),
      };
    },
  };
}
