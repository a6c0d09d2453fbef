/**
 * What the admin API and CLI read about incidents, answered by the reader thread (through
 * EventQueries in store/queries.ts). The list pages by id, newest first (keyset: the id of the last
 * incident of the previous page); every value is a bound parameter.
 */
import { PoolsinkError } from '../errors.js';
import type { HostIdentity } from '../inventory/host-identity.js';
import type { SqliteDatabase } from '../store/database.js';
import { isIncidentState, isSeverity, type IncidentState, type Severity } from './incident-state.js';
import type { IncidentRow, NameRow } from './incident-store.js';

export interface IncidentFilter {
  readonly state?: IncidentState;
  readonly severity?: Severity;
  readonly client?: string;
  /** Any of these exact client IPs (a CIDR resolved by clientsIn); empty matches nothing. */
  readonly clients?: readonly string[];
  /** Incidents with attempts since then (last seen at or after), ms since the epoch. */
  readonly sinceMs?: number;
}

export interface IncidentSummary {
  readonly id: number;
  readonly clientIp: string;
  readonly identity: HostIdentity | null;
  readonly state: IncidentState;
  readonly severity: Severity;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly attempts: number;
  readonly distinctNames: number;
  readonly lists: readonly string[];
  readonly protocols: readonly string[];
  readonly previousId: number | null;
  readonly escalationLevel: number;
  /** Found by a retro-hunt (the query history), not by a blocked or alerted query. */
  readonly retro: boolean;
  readonly acknowledged: { readonly atMs: number; readonly note: string | null } | null;
  readonly resolved: { readonly atMs: number; readonly note: string | null; readonly by: string } | null;
}

export interface IncidentPage {
  readonly incidents: readonly IncidentSummary[];
  /** The id to pass as `afterId` for the next page; present when more match. */
  readonly nextAfterId?: number;
}

export interface IncidentDetail {
  readonly summary: IncidentSummary;
  readonly names: readonly {
    readonly qname: string;
    readonly list: string;
    readonly count: number;
    readonly firstMs: number;
    readonly lastMs: number;
  }[];
  readonly hours: readonly { readonly hourMs: number; readonly count: number }[];
  readonly history: readonly {
    readonly timeMs: number;
    readonly change: string;
    readonly state: string;
    readonly actor: string;
    readonly note: string | null;
  }[];
}

/** Names an incident detail lists at most (the most tried first). */
export const DETAIL_MAX_NAMES = 200;
/** Hours of the attempt series at most (the latest). */
export const DETAIL_MAX_HOURS = 24 * 90;

type Row = IncidentRow & { lists: string | null };

const SELECT = `SELECT i.*, (SELECT group_concat(list) FROM (SELECT DISTINCT list FROM incident_names n
  WHERE n.incident_id = i.id ORDER BY list)) AS lists FROM incidents i`;

function identityOf(json: string | null): HostIdentity | null {
  if (json === null) return null;
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null || !('source' in value)) return null;
    return { ...value, source: value.source === 'reverse-dns' ? 'reverse-dns' : 'inventory' };
  } catch {
    return null; // written by this program; a damaged value is shown as no identity
  }
}

function summaryOf(row: Row): IncidentSummary {
  return {
    id: row.id,
    clientIp: row.client_ip,
    identity: identityOf(row.identity_json),
    state: isIncidentState(row.state) ? row.state : 'open',
    severity: isSeverity(row.severity) ? row.severity : 'high',
    firstSeenMs: row.opened_ms,
    lastSeenMs: row.last_seen_ms,
    attempts: row.attempts,
    distinctNames: row.distinct_names,
    lists: row.lists === null ? [] : row.lists.split(','),
    protocols: row.protocols === '' ? [] : row.protocols.split(','),
    previousId: row.previous_id,
    escalationLevel: row.escalation_level,
    retro: row.retro === 1,
    acknowledged: row.acknowledged_ms === null ? null : { atMs: row.acknowledged_ms, note: row.ack_note },
    resolved:
      row.resolved_ms === null
        ? null
        : { atMs: row.resolved_ms, note: row.resolve_note, by: row.resolved_by ?? 'operator' },
  };
}

export function prepareIncidentReads(db: SqliteDatabase) {
  const lists = new Map<string, ReturnType<typeof db.prepare<(string | number)[], Row>>>();
  return {
    page(sql: string) {
      let statement = lists.get(sql);
      if (statement === undefined) {
        statement = db.prepare<(string | number)[], Row>(sql);
        lists.set(sql, statement);
      }
      return statement;
    },
    byId: db.prepare<[number], Row>(`${SELECT} WHERE i.id = ?`),
    names: db.prepare<[number, number], NameRow>(
      'SELECT qname, list, count, first_ms, last_ms FROM incident_names WHERE incident_id = ? ORDER BY count DESC, qname LIMIT ?',
    ),
    hours: db.prepare<[number, number], { hour_ms: number; count: number }>(
      'SELECT hour_ms, count FROM (SELECT hour_ms, count FROM incident_hours WHERE incident_id = ? ORDER BY hour_ms DESC LIMIT ?) ORDER BY hour_ms',
    ),
    history: db.prepare<
      [number],
      { time_ms: number; change: string; state: string; actor: string; note: string | null }
    >('SELECT time_ms, change, state, actor, note FROM incident_history WHERE incident_id = ? ORDER BY time_ms, rowid'),
    latestOfClient: db.prepare<[string], { id: number }>(
      'SELECT id FROM incidents WHERE client_ip = ? ORDER BY id DESC LIMIT 1',
    ),
  };
}

export type IncidentReads = ReturnType<typeof prepareIncidentReads>;

export function listIncidents(
  reads: IncidentReads,
  filter: IncidentFilter,
  limit: number,
  afterId?: number,
): IncidentPage {
  if (afterId !== undefined && !Number.isSafeInteger(afterId))
    throw new PoolsinkError('ERR_INVALID', 'cursor is not one this server returned');
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.client !== undefined) where.push('i.client_ip = ?') && params.push(filter.client);
  // One JSON parameter, so the SQL text (and its cached statement) is the same for any set size.
  if (filter.clients !== undefined)
    where.push('i.client_ip IN (SELECT value FROM json_each(?))') && params.push(JSON.stringify(filter.clients));
  if (filter.state !== undefined) where.push('i.state = ?') && params.push(filter.state);
  if (filter.severity !== undefined) where.push('i.severity = ?') && params.push(filter.severity);
  if (filter.sinceMs !== undefined) where.push('i.last_seen_ms >= ?') && params.push(filter.sinceMs);
  if (afterId !== undefined) where.push('i.id < ?') && params.push(afterId);
  const sql = `${SELECT}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY i.id DESC LIMIT ?`;
  const rows = reads.page(sql).all(...params, limit + 1);
  const more = rows.length > limit;
  const incidents = rows.slice(0, limit).map(summaryOf);
  const last = incidents[incidents.length - 1];
  return more && last !== undefined ? { incidents, nextAfterId: last.id } : { incidents };
}

export function incidentDetail(reads: IncidentReads, id: number): IncidentDetail | undefined {
  const row = reads.byId.get(id);
  if (row === undefined) return undefined;
  return {
    summary: summaryOf(row),
    names: reads.names
      .all(id, DETAIL_MAX_NAMES)
      .map((n) => ({ qname: n.qname, list: n.list, count: n.count, firstMs: n.first_ms, lastMs: n.last_ms })),
    hours: reads.hours.all(id, DETAIL_MAX_HOURS).map((h) => ({ hourMs: h.hour_ms, count: h.count })),
    history: reads.history.all(id).map((h) => ({
      timeMs: h.time_ms,
      change: h.change,
      state: h.state,
      actor: h.actor,
      note: h.note,
    })),
  };
}
