/**
 * Events of a set of clients (a CIDR filter resolved through the hosts table, client-set.ts),
 * newest first. Two ways, cheapest first:
 *
 * - a large set is usually dense (most of the traffic): the newest SCAN_BUDGET_PER_ROW × want
 *   events by events_time are read and checked against the set; when that finds a full page,
 *   it is exactly the page (every newer event was looked at).
 * - otherwise each client's newest keys by events_client_time, merged (key-merge.ts): one seek
 *   per client plus about one per batch the page consumes.
 */
import { mergeNewest } from './key-merge.js';
import { COLUMNS, conditionsFor, ORDER, rowsOf, type EventRow, type SearchStatements } from './event-sql.js';
import type { NameRange } from './reversed-names.js';
import type { EventCursor, EventFilter } from './types.js';

/** Sets at most this large go straight to the merge (a few ms of seeks at most). */
const MERGE_FIRST_MAX_CLIENTS = 64;
/** Events read by time per wanted row before falling back to the merge. */
const SCAN_BUDGET_PER_ROW = 50;

/**
 * The page from the newest events by time (at most SCAN_BUDGET_PER_ROW × want of them), or
 * undefined when they hold less than a page and older events remain: then the merge decides.
 */
function scanRecent(
  statements: SearchStatements,
  clients: readonly string[],
  filter: EventFilter,
  range: NameRange | undefined,
  cursor: EventCursor | undefined,
  want: number,
): EventRow[] | undefined {
  const budget = want * SCAN_BUDGET_PER_ROW;
  // The time bounds and cursor seek the window; everything else is checked on its rows.
  const window = conditionsFor(
    {
      ...(filter.sinceMs !== undefined ? { sinceMs: filter.sinceMs } : {}),
      ...(filter.untilMs !== undefined ? { untilMs: filter.untilMs } : {}),
    },
    undefined,
    'time',
    cursor,
  );
  const { sinceMs: _since, untilMs: _until, ...rest } = filter;
  const checks = conditionsFor(rest, range, 'time', undefined);
  const sql = `SELECT ${COLUMNS} FROM events WHERE id IN (SELECT id FROM events INDEXED BY events_time ${window.where()} ORDER BY time_ms DESC, id DESC LIMIT ?) AND ${[
    'client_ip IN (SELECT value FROM json_each(?))',
    ...checks.sql,
  ].join(' AND ')} ${ORDER}`;
  const rows = statements.rows.get(sql).all(...window.params, budget, JSON.stringify(clients), ...checks.params, want);
  if (rows.length >= want) return rows;
  // Fewer than a page: the answer only if the window held every remaining event.
  const counted = statements.counts.get(
    `SELECT count(*) AS n FROM (SELECT id FROM events INDEXED BY events_time ${window.where()} LIMIT ?)`,
  );
  const seen = counted.get(...window.params, budget)?.n ?? budget;
  return seen < budget ? rows : undefined;
}

/** Each client's newest keys by events_client_time, merged, then the page's rows by id. */
function mergeByClient(
  statements: SearchStatements,
  clients: readonly string[],
  filter: EventFilter,
  range: NameRange | undefined,
  cursor: EventCursor | undefined,
  want: number,
): EventRow[] {
  const where = conditionsFor(filter, range, 'client', undefined);
  const head = `SELECT id, time_ms FROM events INDEXED BY events_client_time WHERE ${['client_ip = ?', ...where.sql].join(' AND ')}`;
  const first = statements.keys.get(`${head} ${ORDER}`);
  const after = statements.keys.get(`${head} AND time_ms <= ? AND (time_ms < ? OR id < ?) ${ORDER}`);
  const keys = mergeNewest(
    clients,
    (client, key, limit) => {
      const from = key ?? (cursor === undefined ? undefined : { time_ms: cursor.timeMs, id: cursor.id });
      return from === undefined
        ? first.all(client, ...where.params, limit)
        : after.all(client, ...where.params, from.time_ms, from.time_ms, from.id, limit);
    },
    want,
  );
  return rowsOf(statements, keys);
}

/** Up to `want` rows of `clients` after `cursor`, newest first. */
export function searchClients(
  statements: SearchStatements,
  clients: readonly string[],
  filter: EventFilter,
  range: NameRange | undefined,
  cursor: EventCursor | undefined,
  want: number,
): EventRow[] {
  if (clients.length === 0) return [];
  if (clients.length > MERGE_FIRST_MAX_CLIENTS) {
    const rows = scanRecent(statements, clients, filter, range, cursor, want);
    if (rows !== undefined) return rows;
  }
  return mergeByClient(statements, clients, filter, range, cursor, want);
}
