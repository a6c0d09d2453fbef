/**
 * The SQL pieces every event search shares (event-search.ts, client-search.ts): the selected
 * columns, the prepared-statement caches, the WHERE builder for the filters an index does not
 * serve, the keyset order, and fetching a page's rows by id.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { EventCursor, EventFilter } from './types.js';
import type { NameRange } from './reversed-names.js';
import { createIdentityReader, type IdentityReader } from './host-identities.js';
import type { KeyRow } from './key-merge.js';

export const COLUMNS =
  'id, time_ms, client_ip, client_port, protocol, qname, qtype, list, rule, action, answer, via, incident_id, identity_id, count, last_ms';

export interface EventRow {
  id: number;
  time_ms: number;
  client_ip: string;
  client_port: number;
  protocol: string;
  qname: string;
  qtype: number;
  list: string;
  rule: string;
  action: string;
  answer: string;
  via: string | null;
  incident_id: number | null;
  identity_id: number | null;
  count: number;
  last_ms: number | null;
}

export type Param = string | number;

/** Prepared statements by SQL text, each prepared once, for one result row type. */
export interface StatementCache<Row> {
  get(sql: string): BetterSqlite3.Statement<Param[], Row>;
}

export function createStatementCache<Row>(db: BetterSqlite3.Database): StatementCache<Row> {
  const statements = new Map<string, BetterSqlite3.Statement<Param[], Row>>();
  return {
    get(sql: string): BetterSqlite3.Statement<Param[], Row> {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare<Param[], Row>(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

/** The statements event searches use, for one database. */
export interface SearchStatements {
  readonly rows: StatementCache<EventRow>;
  readonly identities: IdentityReader;
  readonly keys: StatementCache<KeyRow>;
  readonly names: StatementCache<{ rname: string }>;
  readonly hours: StatementCache<{ hourMs: number }>;
  readonly counts: StatementCache<{ n: number }>;
}

export function createSearchStatements(db: BetterSqlite3.Database): SearchStatements {
  return {
    rows: createStatementCache(db),
    identities: createIdentityReader(db),
    keys: createStatementCache(db),
    names: createStatementCache(db),
    hours: createStatementCache(db),
    counts: createStatementCache(db),
  };
}

/** WHERE conditions and their parameters, in order. */
export class Conditions {
  readonly sql: string[] = [];
  readonly params: Param[] = [];

  add(sql: string, ...params: Param[]): void {
    this.sql.push(sql);
    this.params.push(...params);
  }

  where(): string {
    return this.sql.length === 0 ? '' : `WHERE ${this.sql.join(' AND ')}`;
  }
}

export type Indexed = 'client' | 'name' | 'time';

/** The filters not served by the chosen index, plus time bounds and the cursor. */
export function conditionsFor(
  filter: EventFilter,
  range: NameRange | undefined,
  indexed: Indexed,
  cursor: EventCursor | undefined,
): Conditions {
  const where = new Conditions();
  if (filter.client !== undefined) where.add('client_ip = ?', filter.client);
  if (range !== undefined && indexed !== 'name') where.add('rname >= ? AND rname < ?', range.low, range.high);
  if (filter.list !== undefined) where.add('list = ?', filter.list);
  if (filter.incidentId !== undefined) where.add('incident_id = ?', filter.incidentId);
  if (filter.action !== undefined) where.add('action = ?', filter.action);
  if (filter.sinceMs !== undefined) where.add('time_ms >= ?', filter.sinceMs);
  if (filter.untilMs !== undefined) where.add('time_ms < ?', filter.untilMs);
  if (cursor !== undefined)
    where.add('time_ms <= ? AND (time_ms < ? OR id < ?)', cursor.timeMs, cursor.timeMs, cursor.id);
  return where;
}

export const INDEX_NAME: Readonly<Record<Indexed, string>> = {
  client: 'events_client_time',
  name: 'events_rname_time',
  time: 'events_time',
};

export const ORDER = 'ORDER BY time_ms DESC, id DESC LIMIT ?';

/** The rows of `keys`, in their order. */
export function rowsOf(statements: SearchStatements, keys: readonly KeyRow[]): EventRow[] {
  const byId = statements.rows.get(`SELECT ${COLUMNS} FROM events WHERE id = ?`);
  const rows: EventRow[] = [];
  for (const key of keys) {
    const row = byId.get(key.id);
    if (row !== undefined) rows.push(row);
  }
  return rows;
}
