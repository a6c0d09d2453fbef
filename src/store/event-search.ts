/**
 * One page of events, newest first, keyset-paginated on (time_ms, id). Every value is a bound
 * parameter; the SQL text is assembled only from the fixed fragments below, and the index each
 * filter combination uses is chosen here (INDEXED BY), not left to the planner's guesses, because a
 * wrong guess over ten million rows is a full scan:
 *
 * - client given: the client's events by time (events_client_time), other filters checked per row.
 * - clients given (a CIDR resolved through the hosts table, client-set.ts): client-search.ts, a
 *   budgeted scan by time for a large dense set, else each client's newest keys merged.
 * - domain given: the distinct names in the domain's rname range are found by index seeks; for up
 *   to MERGE_MAX_NAMES names, each name's newest (time, id) pairs are read from events_rname_time
 *   and merged, then the page's rows fetched by id. A broader domain (more names) walks events by
 *   time and checks the range, which is quick because a broad domain matches densely.
 * - list or action given (and neither of the above): the hours list_hours says hold such events,
 *   newest first, each scanned by time (events_time) with the filter checked per row; the last
 *   RECENT_MS are always scanned, since their rollup rows may not be written yet. A list that is
 *   sparse in a busy hour costs a scan of that hour; the (list, time) index that avoided it cost
 *   every insert about 2.5 µs and was dropped in schema v2.
 * - otherwise: events_time.
 */
import type { BlockAction, Protocol } from '../dns/block-event.js';
import { domainRange, type NameRange } from './reversed-names.js';
import { HOUR_MS, hourOf } from './schema.js';
import type { EventCursor, EventFilter, EventPage, StoredEvent } from './types.js';
import type { IdentityReader } from './host-identities.js';
import type { KeyRow } from './key-merge.js';
import { searchClients } from './client-search.js';
import {
  COLUMNS,
  Conditions,
  conditionsFor,
  INDEX_NAME,
  ORDER,
  rowsOf,
  type EventRow,
  type Indexed,
  type SearchStatements,
} from './event-sql.js';

export { createSearchStatements, type SearchStatements } from './event-sql.js';

const MERGE_MAX_NAMES = 100;
/** Hours read from list_hours per step. */
const HOURS_PER_STEP = 64;
/**
 * Always scanned for list and action filters: the writer sums rollups in memory for a few seconds
 * (rollupIntervalMs) before list_hours rows exist for events already written.
 */
const RECENT_MS = 10 * 60_000;

function toProtocol(text: string): Protocol {
  return text === 'tcp' ? 'tcp' : 'udp';
}

function toAction(text: string): BlockAction {
  return text === 'alerted' ? 'alerted' : 'blocked';
}

function toStoredEvent(row: EventRow, identities: IdentityReader): StoredEvent {
  const identity = identities.byId(row.identity_id);
  return {
    id: row.id,
    timeMs: row.time_ms,
    clientIp: row.client_ip,
    clientPort: row.client_port,
    protocol: toProtocol(row.protocol),
    qname: row.qname,
    qtype: row.qtype,
    list: row.list,
    rule: row.rule,
    action: toAction(row.action),
    answer: row.answer,
    via: row.via,
    incidentId: row.incident_id,
    count: row.count,
    lastMs: row.last_ms ?? row.time_ms,
    ...(identity !== undefined ? { identity } : {}),
  };
}

/** The distinct rnames in `range`, or undefined when there are more than `max`. */
function namesInRange(statements: SearchStatements, range: NameRange, max: number): string[] | undefined {
  const first = statements.names.get(
    'SELECT rname FROM events INDEXED BY events_rname_time WHERE rname >= ? AND rname < ? ORDER BY rname LIMIT 1',
  );
  const next = statements.names.get(
    'SELECT rname FROM events INDEXED BY events_rname_time WHERE rname > ? AND rname < ? ORDER BY rname LIMIT 1',
  );
  const names: string[] = [];
  let row = first.get(range.low, range.high);
  while (row !== undefined) {
    if (names.length === max) return undefined;
    names.push(row.rname);
    row = next.get(row.rname, range.high);
  }
  return names;
}

function byNewest(a: KeyRow, b: KeyRow): number {
  return b.time_ms - a.time_ms || b.id - a.id;
}

/** The page for a domain with few names: merge each name's newest keys, then fetch the rows. */
function mergeByName(
  statements: SearchStatements,
  names: readonly string[],
  filter: EventFilter,
  cursor: EventCursor | undefined,
  want: number,
): EventRow[] {
  const where = conditionsFor(filter, undefined, 'name', cursor);
  const keysSql = `SELECT id, time_ms FROM events INDEXED BY events_rname_time WHERE rname = ?${
    where.sql.length > 0 ? ` AND ${where.sql.join(' AND ')}` : ''
  } ${ORDER}`;
  const keysStatement = statements.keys.get(keysSql);
  let keys: KeyRow[] = [];
  for (const name of names) {
    const rows = keysStatement.all(name, ...where.params, want);
    keys = keys.length === 0 ? rows : keys.concat(rows);
  }
  keys.sort(byNewest);
  if (keys.length > want) keys.length = want;
  return rowsOf(statements, keys);
}

function scanByIndex(
  statements: SearchStatements,
  filter: EventFilter,
  range: NameRange | undefined,
  indexed: Indexed,
  cursor: EventCursor | undefined,
  want: number,
): EventRow[] {
  const where = conditionsFor(filter, range, indexed, cursor);
  const sql = `SELECT ${COLUMNS} FROM events INDEXED BY ${INDEX_NAME[indexed]} ${where.where()} ${ORDER}`;
  return statements.rows.get(sql).all(...where.params, want);
}

/**
 * The page for a list and/or action filter: hour by hour, newest first, over the hours list_hours
 * counts such events in, plus the recent hours whose rollups may still be in memory.
 */
function scanListHours(
  statements: SearchStatements,
  filter: EventFilter,
  cursor: EventCursor | undefined,
  want: number,
  now: number,
): EventRow[] {
  const where = new Conditions();
  if (filter.list !== undefined) where.add('list = ?', filter.list);
  if (filter.incidentId !== undefined) where.add('incident_id = ?', filter.incidentId);
  if (filter.action !== undefined) where.add('action = ?', filter.action);
  const hoursSql = `SELECT DISTINCT hour_ms AS hourMs FROM list_hours WHERE ${[...where.sql, 'hour_ms < ?', 'hour_ms >= ?'].join(' AND ')} ORDER BY hour_ms DESC LIMIT ?`;
  const hours = statements.hours.get(hoursSql);
  const lowHour = filter.sinceMs === undefined ? Number.MIN_SAFE_INTEGER : hourOf(filter.sinceMs);
  let highMs = Math.min(
    filter.untilMs ?? Number.MAX_SAFE_INTEGER,
    cursor === undefined ? Number.MAX_SAFE_INTEGER : cursor.timeMs + 1,
  );
  const rows: EventRow[] = [];
  // The recent window first: its rollup rows may be missing.
  const recentFrom = hourOf(now - RECENT_MS);
  if (highMs > recentFrom) {
    rows.push(...scanTimeWindow(statements, filter, cursor, recentFrom, highMs, want));
    highMs = recentFrom;
  }
  while (rows.length < want && highMs > lowHour) {
    const step = hours.all(...where.params, highMs, lowHour, HOURS_PER_STEP);
    for (const { hourMs } of step) {
      rows.push(
        ...scanTimeWindow(statements, filter, cursor, hourMs, Math.min(hourMs + HOUR_MS, highMs), want - rows.length),
      );
      highMs = hourMs;
      if (rows.length >= want) break;
    }
    if (step.length < HOURS_PER_STEP) break;
  }
  return rows;
}

/** Events in [fromMs, toMs) matching the filter and after the cursor, newest first, by events_time. */
function scanTimeWindow(
  statements: SearchStatements,
  filter: EventFilter,
  cursor: EventCursor | undefined,
  fromMs: number,
  toMs: number,
  want: number,
): EventRow[] {
  const where = conditionsFor(filter, undefined, 'time', cursor);
  where.add('time_ms >= ? AND time_ms < ?', fromMs, toMs);
  const sql = `SELECT ${COLUMNS} FROM events INDEXED BY events_time ${where.where()} ${ORDER}`;
  return statements.rows.get(sql).all(...where.params, want);
}

/** One page: at most `limit` events after `cursor`; nextCursor when more match. Inputs are already validated. */
export function searchEvents(
  statements: SearchStatements,
  filter: EventFilter,
  limit: number,
  cursor: EventCursor | undefined,
  now: number = Date.now(),
): EventPage {
  const want = limit + 1;
  const range = filter.domain === undefined ? undefined : domainRange(filter.domain);
  let rows: EventRow[];
  if (filter.client !== undefined) rows = scanByIndex(statements, filter, range, 'client', cursor, want);
  else if (filter.clients !== undefined) rows = searchClients(statements, filter.clients, filter, range, cursor, want);
  else if (range !== undefined) {
    const names = namesInRange(statements, range, MERGE_MAX_NAMES);
    rows =
      names === undefined
        ? scanByIndex(statements, filter, range, 'time', cursor, want)
        : mergeByName(statements, names, filter, cursor, want);
  } else if (filter.list !== undefined || filter.action !== undefined)
    rows = scanListHours(statements, filter, cursor, want, now);
  else rows = scanByIndex(statements, filter, range, 'time', cursor, want);

  const more = rows.length > limit;
  if (more) rows.length = limit;
  const events = rows.map((row) => toStoredEvent(row, statements.identities));
  const last = events[events.length - 1];
  return more && last !== undefined ? { events, nextCursor: { timeMs: last.timeMs, id: last.id } } : { events };
}
