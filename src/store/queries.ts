/**
 * What the admin API and CLI read from the block log. Inputs are checked here too (limits, times,
 * cursors), so a bad value is an ERR_INVALID naming the parameter, never an SQL error; text values
 * are bound parameters, so quotes, SQL or LIKE metacharacters simply match nothing.
 *
 * /hosts reads the per-host summary (kept when events are pruned), /events the events table
 * (event-search.ts), /stats the hourly rollups (stats-query.ts).
 */
import { PoolsinkError } from '../errors.js';
import { preparedFor, type SqliteDatabase, type StoreConnection } from './database.js';
import { createSearchStatements, searchEvents } from './event-search.js';
import { clientsIn, MAX_FILTER_CLIENTS, prepareClientSetStatements } from './client-set.js';
import { prepareStatsStatements, queryStats } from './stats-query.js';
import { TIMESERIES_RANGES, prepareDashboardStatements, queryOverview, queryTimeseries } from './dashboard-query.js';
import { incidentDetail, listIncidents, prepareIncidentReads } from '../incidents/incident-queries.js';
import { INCIDENT_MAX_LOGINS, listMinerLogins, prepareMinerLoginReads } from '../honeypot/miner-login-queries.js';
import type {
  DomainCount,
  EventCursor,
  EventFilter,
  EventPage,
  EventQueries,
  EventReader,
  HostCursor,
  HostPage,
  HostSummary,
  Stats,
  StoredEvent,
} from './types.js';

/** Largest page events() returns; larger exports go through iterateEvents(). */
export const MAX_PAGE_LIMIT = 10_000;
/** Largest `limit` for hosts() and `topLimit` for stats(). */
export const MAX_LIST_LIMIT = 10_000;
export const TOP_DOMAINS_PER_HOST = 5;
/** stats() counts a window's partial first hour exactly when the half hour it reads holds at most this many events. */
export const EDGE_SCAN_MAX_EVENTS = 20_000;
/** Events per page when iterating (exports). */
export const ITERATE_CHUNK = 1000;

interface HostRow {
  client_ip: string;
  first_seen_ms: number;
  last_seen_ms: number;
  blocked_count: number;
  distinct_domains: number;
  identity_id: number | null;
}

interface CountRow {
  key: string;
  count: number;
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
  if (value !== undefined && !Number.isSafeInteger(value))
    throw invalid(`${name} must be a time in ms since the epoch (got ${String(value)})`);
}

function checkFilter(filter: EventFilter): void {
  checkTime('since', filter.sinceMs);
  checkTime('until', filter.untilMs);
  if (filter.clients !== undefined && filter.clients.length > MAX_FILTER_CLIENTS)
    throw invalid(`client must stand for at most ${MAX_FILTER_CLIENTS} hosts (got ${filter.clients.length})`);
}

function checkCursor(cursor: EventCursor | undefined): void {
  if (cursor !== undefined && (!Number.isSafeInteger(cursor.timeMs) || !Number.isSafeInteger(cursor.id))) {
    throw invalid('cursor is not one this server returned');
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    search: createSearchStatements(db),
    clientSet: prepareClientSetStatements(db),
    hosts: db.prepare<[number], HostRow>(
      `SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains, identity_id FROM hosts
       ORDER BY last_seen_ms DESC, client_ip DESC LIMIT ?`,
    ),
    hostsSince: db.prepare<[number, number], HostRow>(
      `SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains, identity_id FROM hosts
       WHERE last_seen_ms >= ? ORDER BY last_seen_ms DESC, client_ip DESC LIMIT ?`,
    ),
    // Keyset pages: hosts_last_seen holds (last_seen_ms, client_ip), client_ip being the table's key.
    hostsPage: db.prepare<[number, number], HostRow>(
      `SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains, identity_id
       FROM hosts INDEXED BY hosts_last_seen WHERE last_seen_ms >= ? ORDER BY last_seen_ms DESC, client_ip DESC LIMIT ?`,
    ),
    hostsPageAfter: db.prepare<[number, number, string, number], HostRow>(
      `SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains, identity_id
       FROM hosts INDEXED BY hosts_last_seen WHERE last_seen_ms >= ? AND (last_seen_ms, client_ip) < (?, ?)
       ORDER BY last_seen_ms DESC, client_ip DESC LIMIT ?`,
    ),
    host: db.prepare<[string], HostRow>(
      'SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains, identity_id FROM hosts WHERE client_ip = ?',
    ),
    // Ties in count come out by name descending: the order of the index, read backwards. The index
    // costs the writer 0.56 of the 1.9 pages its rollups write per event at 10M events, but without
    // it a /hosts page of 1,000 hosts at the 1,000-name cap sorts 1M rows: 81-112 ms of CPU instead
    // of 14-24 (measured 2026-12-03, README performance table).
    topDomainsOfHost: db.prepare<[string, number], CountRow>(
      `SELECT qname AS key, count FROM host_domains INDEXED BY host_domains_top
       WHERE client_ip = ? ORDER BY count DESC, qname DESC LIMIT ?`,
    ),
    stats: prepareStatsStatements(db),
    incidents: prepareIncidentReads(db),
    dashboard: prepareDashboardStatements(db),
    minerLogins: prepareMinerLoginReads(db),
  };
}

export interface EventQueriesOptions {
  /** See EDGE_SCAN_MAX_EVENTS (tests lower it). */
  readonly edgeScanMaxEvents?: number;
  /** Clients a CIDR filter may match at most (MAX_FILTER_CLIENTS; tests lower it). */
  readonly maxFilterClients?: number;
}

export function createEventQueries(connection: StoreConnection, options: EventQueriesOptions = {}): EventQueries {
  const statements = preparedFor(connection, prepareStatements);
  const edgeScanMaxEvents = options.edgeScanMaxEvents ?? EDGE_SCAN_MAX_EVENTS;
  const maxFilterClients = Math.min(options.maxFilterClients ?? MAX_FILTER_CLIENTS, MAX_FILTER_CLIENTS);

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
    const identity = statements().search.identities.byId(row.identity_id);
    return {
      clientIp: row.client_ip,
      firstSeenMs: row.first_seen_ms,
      lastSeenMs: row.last_seen_ms,
      blockedCount: row.blocked_count,
      distinctDomains: row.distinct_domains,
      topDomains,
      incidentId: statements().incidents.latestOfClient.get(row.client_ip)?.id ?? null,
      ...(identity !== undefined ? { identity } : {}),
    };
  }

  return {
    clientsIn: (cidr) => clientsIn(statements().clientSet, cidr, maxFilterClients),

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
      const prepared = statements();
      const rows = sinceMs === undefined ? prepared.hosts.all(limit) : prepared.hostsSince.all(sinceMs, limit);
      return rows.map(summary);
    },

    hostsPage(sinceMs, limit, cursor) {
      checkTime('since', sinceMs);
      checkLimit('limit', limit, 1, MAX_LIST_LIMIT);
      if (cursor !== undefined && !Number.isSafeInteger(cursor.lastSeenMs))
        throw invalid('cursor is not one this server returned');
      const prepared = statements();
      const since = sinceMs ?? 0;
      const rows =
        cursor === undefined
          ? prepared.hostsPage.all(since, limit + 1)
          : prepared.hostsPageAfter.all(since, cursor.lastSeenMs, cursor.clientIp, limit + 1);
      const hosts = rows.slice(0, limit).map(summary);
      const last = rows.length > limit ? hosts[hosts.length - 1] : undefined;
      return {
        hosts,
        ...(last !== undefined ? { nextCursor: { lastSeenMs: last.lastSeenMs, clientIp: last.clientIp } } : {}),
      };
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
      return queryStats(statements().stats, sinceMs, topLimit, edgeScanMaxEvents);
    },

    incidents(filter, limit, afterId) {
      checkLimit('limit', limit, 1, MAX_PAGE_LIMIT);
      checkTime('since', filter.sinceMs);
      checkFilter({ ...(filter.clients !== undefined ? { clients: filter.clients } : {}) });
      return listIncidents(statements().incidents, filter, limit, afterId);
    },

    incident(id, recentLimit) {
      checkLimit('limit', recentLimit, 0, MAX_PAGE_LIMIT);
      const detail = incidentDetail(statements().incidents, id);
      if (detail === undefined) return undefined;
      const filter = { client: detail.summary.clientIp, incidentId: id };
      const { logins } = listMinerLogins(statements().minerLogins, { incidentId: id }, INCIDENT_MAX_LOGINS);
      return { ...detail, recent: recentLimit === 0 ? [] : events(filter, recentLimit).events, minerLogins: logins };
    },

    timeseries(range, nowMs, withOutcomes) {
      if (!TIMESERIES_RANGES.includes(range)) throw invalid(`range must be one of ${TIMESERIES_RANGES.join(', ')}`);
      checkTime('now', nowMs);
      return queryTimeseries(statements().dashboard, range, nowMs, withOutcomes);
    },

    overview(sinceMs, topLimit) {
      checkTime('since', sinceMs);
      checkLimit('top', topLimit, 1, MAX_LIST_LIMIT);
      return queryOverview(statements().dashboard, statements().stats, { sinceMs, topLimit, edgeScanMaxEvents });
    },

    minerLogins(filter, limit, cursor) {
      checkLimit('limit', limit, 1, MAX_PAGE_LIMIT);
      checkTime('since', filter.sinceMs);
      checkTime('until', filter.untilMs);
      checkCursor(cursor);
      return listMinerLogins(statements().minerLogins, filter, limit, cursor);
    },
  };
}

/** Every host seen since sinceMs, most recent first, read ITERATE_CHUNK at a time through `page` (exports). */
export async function* pagedHosts(
  page: (sinceMs: number | undefined, limit: number, cursor?: HostCursor) => Promise<HostPage>,
  sinceMs: number | undefined,
): AsyncGenerator<HostSummary> {
  let cursor: HostCursor | undefined;
  for (;;) {
    const { hosts, nextCursor } = await page(sinceMs, ITERATE_CHUNK, cursor);
    yield* hosts;
    if (nextCursor === undefined) return;
    cursor = nextCursor;
  }
}

/** Every event matching `filter`, newest first, read ITERATE_CHUNK at a time through `page`. */
export async function* pagedEvents(
  page: (filter: EventFilter, limit: number, cursor?: EventCursor) => Promise<EventPage>,
  filter: EventFilter,
): AsyncGenerator<StoredEvent> {
  let cursor: EventCursor | undefined;
  for (;;) {
    const { events, nextCursor } = await page(filter, ITERATE_CHUNK, cursor);
    yield* events;
    if (nextCursor === undefined) return;
    cursor = nextCursor;
  }
}

/**
 * The same queries answered in-process, as promises: for tests and tools that do not need a reader
 * thread. Each call still runs synchronously on this thread.
 */
export function asyncEventQueries(queries: EventQueries): EventReader {
  return {
    clientsIn: async (cidr) => queries.clientsIn(cidr),
    events: async (filter, limit, cursor) => queries.events(filter, limit, cursor),
    async *iterateEvents(filter) {
      yield* queries.iterateEvents(filter);
    },
    hosts: async (sinceMs, limit) => queries.hosts(sinceMs, limit),
    hostsPage: async (sinceMs, limit, cursor) => queries.hostsPage(sinceMs, limit, cursor),
    host: async (clientIp, recentLimit) => queries.host(clientIp, recentLimit),
    stats: async (sinceMs, topLimit) => queries.stats(sinceMs, topLimit),
    incidents: async (filter, limit, afterId) => queries.incidents(filter, limit, afterId),
    incident: async (id, recentLimit) => queries.incident(id, recentLimit),
    timeseries: async (range, nowMs, withOutcomes) => queries.timeseries(range, nowMs, withOutcomes),
    overview: async (sinceMs, topLimit) => queries.overview(sinceMs, topLimit),
    minerLogins: async (filter, limit, cursor) => queries.minerLogins(filter, limit, cursor),
  };
}
