/**
 * The one place that maps a local (SQLite) block event to its central (PostgreSQL) row: the columns
 * read from the local store, the columns written centrally, and the conversion between them. A new
 * local events column (miner logins, events.count / last_ms) is added here, in the central
 * migration (migrations.ts), and nowhere else.
 */
import { centralLocalId } from './key-space.js';

/** Columns of the local `events` table (alias e) and `host_identities` (alias hi) the shipper reads. */
export const LOCAL_EVENT_SELECT = `
SELECT e.id, e.time_ms, e.client_ip, e.client_port, e.protocol, e.qname, e.rname, e.qtype, e.list, e.rule,
       e.action, e.answer, e.via, e.count, e.last_ms, hi.key AS identity_json
FROM events e LEFT JOIN host_identities hi ON hi.id = e.identity_id
WHERE e.id > ? ORDER BY e.id LIMIT ?`;

/** One row as the SELECT above returns it. */
export interface LocalEventRow {
  readonly id: number;
  readonly time_ms: number;
  readonly client_ip: string;
  readonly client_port: number;
  readonly protocol: string;
  readonly qname: string;
  readonly rname: string;
  readonly qtype: number;
  readonly list: string;
  readonly rule: string;
  readonly action: string;
  readonly answer: string;
  readonly via: string | null;
  /** Queries this row stands for (repeats coalesced within database.coalesceWindowMs). */
  readonly count: number;
  /** The last repeat's time; null for a single query. */
  readonly last_ms: number | null;
  readonly identity_json: string | null;
}

/** The central columns and their PostgreSQL array types (for `unnest($1::text[], ...)`), in toCentralColumns' order. */
const CENTRAL_EVENT_COLUMN_TYPES = [
  ['instance', 'text[]'],
  ['local_id', 'bigint[]'],
  ['time_ms', 'bigint[]'],
  ['client_ip', 'text[]'],
  ['client_port', 'int[]'],
  ['protocol', 'text[]'],
  ['qname', 'text[]'],
  ['rname', 'text[]'],
  ['qtype', 'int[]'],
  ['list', 'text[]'],
  ['rule', 'text[]'],
  ['action', 'text[]'],
  ['answer', 'text[]'],
  ['via', 'text[]'],
  ['count', 'int[]'],
  ['last_ms', 'bigint[]'],
  ['identity', 'jsonb[]'],
] as const;

export const CENTRAL_EVENT_COLUMNS = CENTRAL_EVENT_COLUMN_TYPES.map(([column]) => column);

/**
 * PostgreSQL text cannot hold NUL; a qname may (it is raw wire bytes as latin1). NUL becomes the
 * presentation escape `\000`; every other byte is kept.
 */
function pgText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\000') : text;
}

/**
 * Column-wise arrays (one per CENTRAL_EVENT_COLUMNS entry) for one INSERT ... SELECT FROM unnest(...);
 * local_id in the database's key space `epoch` (key-space.ts).
 */
export function toCentralColumns(instance: string, rows: readonly LocalEventRow[], epoch: number): unknown[][] {
  const columns: unknown[][] = CENTRAL_EVENT_COLUMNS.map(() => new Array<unknown>(rows.length));
  rows.forEach((row, i) => {
    const values = [
      instance,
      centralLocalId(epoch, row.id),
      row.time_ms,
      row.client_ip,
      row.client_port,
      row.protocol,
      pgText(row.qname),
      pgText(row.rname),
      row.qtype,
      pgText(row.list),
      pgText(row.rule),
      row.action,
      pgText(row.answer),
      row.via === null ? null : pgText(row.via),
      row.count,
      row.last_ms,
      row.identity_json,
    ];
    values.forEach((value, c) => {
      const column = columns[c];
      if (column !== undefined) column[i] = value;
    });
  });
  return columns;
}

/**
 * `INSERT INTO central_events (...) SELECT * FROM unnest($1::text[], ...) ON CONFLICT DO NOTHING`:
 * (instance, local_id, time_ms) is the idempotency key (the table is partitioned by time_ms, which a
 * local event never changes).
 */
export const CENTRAL_EVENT_INSERT = `INSERT INTO central_events (${CENTRAL_EVENT_COLUMNS.join(', ')})
SELECT * FROM unnest(${CENTRAL_EVENT_COLUMN_TYPES.map(([, type], i) => `$${i + 1}::${type}`).join(', ')})
ON CONFLICT (instance, local_id, time_ms) DO NOTHING`;
