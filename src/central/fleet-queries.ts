/**
 * Reads of the fleet-wide view in PostgreSQL for the admin API: events newest first by keyset
 * (time_ms, id) with an instance / client / domain / list / action / time filter, hosts per
 * instance, and the fleet's incidents. Every filter is served by an index of migrations.ts.
 */
import type pg from 'pg';
import { domainRange } from '../store/reversed-names.js';
import type { ClientSet } from '../store/types.js';
import { newestKeysByWindow, newestRowsByWindow, type EventKey } from './event-windows.js';
import { INCIDENT_COLUMNS, incidentOf, type CentralIncident } from './central-incidents.js';
import { splitCentralLocalId } from './key-space.js';

export interface FleetEventFilter {
  readonly instance?: string;
  readonly client?: string;
  /** Any of these exact client IPs (a CIDR resolved by fleetClientsIn); empty matches nothing. */
  readonly clients?: readonly string[];
  readonly domain?: string;
  readonly list?: string;
  readonly action?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
}

export interface FleetCursor {
  readonly timeMs: number;
  readonly id: number;
}

export interface FleetEvent {
  readonly id: number;
  readonly instance: string;
  readonly localId: number;
  readonly timeMs: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly protocol: string;
  readonly qname: string;
  readonly qtype: number;
  readonly list: string;
  readonly rule: string;
  readonly action: string;
  readonly answer: string;
  readonly via: string | null;
  /** Queries the row stands for (coalesced repeats) and the last one's time (null: a single query). */
  readonly count: number;
  readonly lastTimeMs: number | null;
  readonly identity: unknown;
}

interface EventRow {
  id: string;
  instance: string;
  local_id: string;
  time_ms: string;
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
  count: number;
  last_ms: string | null;
  identity: unknown;
}

function eventOf(row: EventRow): FleetEvent {
  return {
    id: Number(row.id),
    instance: row.instance,
    localId: splitCentralLocalId(row.local_id).localId,
    timeMs: Number(row.time_ms),
    clientIp: row.client_ip,
    clientPort: row.client_port,
    protocol: row.protocol,
    qname: row.qname,
    qtype: row.qtype,
    list: row.list,
    rule: row.rule,
    action: row.action,
    answer: row.answer,
    via: row.via,
    count: row.count,
    lastTimeMs: row.last_ms === null ? null : Number(row.last_ms),
    identity: row.identity,
  };
}

const EVENT_COLUMNS = [
  'id',
  'instance',
  'local_id',
  'time_ms',
  'client_ip',
  'client_port',
  'protocol',
  'qname',
  'qtype',
  'list',
  'rule',
  'action',
  'answer',
  'via',
  'count',
  'last_ms',
  'identity',
] as const;

/** The rows of `keys`, newest first, read only in the days the keys span (the other partitions pruned). */
async function rowsOfKeys(client: pg.ClientBase, keys: readonly EventKey[]): Promise<EventRow[]> {
  if (keys.length === 0) return [];
  const times = keys.map((key) => key.timeMs);
  const { rows } = await client.query<EventRow>(
    `SELECT ${EVENT_COLUMNS.map((column) => `e.${column}`).join(', ')}
FROM unnest($1::bigint[], $2::bigint[]) AS k(time_ms, id) JOIN central_events e ON e.time_ms = k.time_ms AND e.id = k.id
WHERE e.time_ms >= $3 AND e.time_ms <= $4
ORDER BY e.time_ms DESC, e.id DESC`,
    [times, keys.map((key) => key.id), Math.min(...times), Math.max(...times)],
  );
  return rows;
}

/** One page, newest first; nextCursor when more match. `nowMs` anchors the read's time windows. */
export async function fleetEvents(
  client: pg.ClientBase,
  filter: FleetEventFilter,
  limit: number,
  cursor?: FleetCursor,
  nowMs: number = Date.now(),
): Promise<{ events: FleetEvent[]; nextCursor?: FleetCursor }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown): void => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.instance !== undefined) add((n) => `instance = ${n}`, filter.instance);
  if (filter.client !== undefined) add((n) => `client_ip = ${n}`, filter.client);
  if (filter.clients !== undefined) add((n) => `client_ip = ANY (${n}::text[])`, filter.clients);
  const range = filter.domain !== undefined ? domainRange(filter.domain) : undefined;
  if (range !== undefined) {
    add((n) => `rname >= ${n}`, range.low);
    add((n) => `rname < ${n}`, range.high);
  }
  if (filter.list !== undefined) add((n) => `list = ${n}`, filter.list);
  if (filter.action !== undefined) add((n) => `action = ${n}`, filter.action);
  if (filter.sinceMs !== undefined) add((n) => `time_ms >= ${n}`, filter.sinceMs);
  if (filter.untilMs !== undefined) add((n) => `time_ms < ${n}`, filter.untilMs);
  if (cursor !== undefined) {
    params.push(cursor.timeMs, cursor.id);
    // time_ms <= as well: PostgreSQL prunes partitions by it, not by the row comparison.
    where.push(`(time_ms, id) < ($${params.length - 1}, $${params.length})`, `time_ms <= $${params.length - 1}`);
  }
  // Every read by time windows from the cursor's time, `until` or now back (event-windows.ts).
  const windowed = {
    where,
    params,
    wanted: limit + 1,
    topMs: Math.min(cursor?.timeMs ?? nowMs, filter.untilMs ?? nowMs),
    ...(filter.sinceMs !== undefined ? { sinceMs: filter.sinceMs } : {}),
  };
  let rows: EventRow[];
  if (range !== undefined && filter.client === undefined) {
    // The domain's newest keys from the index alone, then only the page's rows.
    rows = await rowsOfKeys(client, await newestKeysByWindow(client, windowed));
  } else {
    // With a client and a domain, one read: the client's (client_ip, time_ms, id) index is in time
    // order and a host has few events, so it stops at the page; in a bounded window the planner
    // took the domain's index in each day instead (119.5 ms at 10M events).
    rows = await newestRowsByWindow<EventRow>(client, {
      ...windowed,
      columns: EVENT_COLUMNS.join(', '),
      allAtOnce: range !== undefined,
    });
  }
  const events = rows.slice(0, limit).map(eventOf);
  const last = events[events.length - 1];
  return rows.length > limit && last !== undefined
    ? { events, nextCursor: { timeMs: last.timeMs, id: last.id } }
    : { events };
}

export interface FleetHost {
  readonly clientIp: string;
  readonly instance: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly blockedCount: number;
  readonly identity: unknown;
}

/** Where the next page of fleet hosts starts: the last row's (lastSeenMs, clientIp, instance). */
export interface FleetHostCursor {
  readonly lastSeenMs: number;
  readonly clientIp: string;
  readonly instance: string;
}

/** Hosts seen by each instance, most recently seen first, in keyset pages; nextCursor when more match. */
export async function fleetHosts(
  client: pg.ClientBase,
  filter: { readonly instance?: string; readonly sinceMs?: number },
  limit: number,
  cursor?: FleetHostCursor,
): Promise<{ hosts: FleetHost[]; nextCursor?: FleetHostCursor }> {
  const { rows } = await client.query<{
    client_ip: string;
    instance: string;
    first_seen_ms: string;
    last_seen_ms: string;
    blocked_count: string;
    identity: unknown;
  }>(
    `SELECT client_ip, instance, first_seen_ms, last_seen_ms, blocked_count, identity FROM central_hosts
WHERE ($1::text IS NULL OR instance = $1) AND ($2::bigint IS NULL OR last_seen_ms >= $2)
  AND ($3::bigint IS NULL OR (last_seen_ms, client_ip, instance) < ($3, $4::text, $5::text))
ORDER BY last_seen_ms DESC, client_ip DESC, instance DESC LIMIT $6`,
    [
      filter.instance ?? null,
      filter.sinceMs ?? null,
      cursor?.lastSeenMs ?? null,
      cursor?.clientIp ?? null,
      cursor?.instance ?? null,
      limit + 1,
    ],
  );
  const hosts = rows.slice(0, limit).map((row) => ({
    clientIp: row.client_ip,
    instance: row.instance,
    firstSeenMs: Number(row.first_seen_ms),
    lastSeenMs: Number(row.last_seen_ms),
    blockedCount: Number(row.blocked_count),
    identity: row.identity,
  }));
  const last = hosts[hosts.length - 1];
  return rows.length > limit && last !== undefined
    ? { hosts, nextCursor: { lastSeenMs: last.lastSeenMs, clientIp: last.clientIp, instance: last.instance } }
    : { hosts };
}

/** Fleet incidents, newest first; `instance`: those that instance saw. */
export async function fleetIncidents(
  client: pg.ClientBase,
  filter: { readonly state?: string; readonly instance?: string; readonly client?: string },
  limit: number,
): Promise<CentralIncident[]> {
  const { rows } = await client.query(
    `SELECT ${INCIDENT_COLUMNS} FROM central_incidents
WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR $2 = ANY (instances))
  AND ($3::text IS NULL OR client_ip = $3)
ORDER BY id DESC LIMIT $4`,
    [filter.state ?? null, filter.instance ?? null, filter.client ?? null, limit],
  );
  return rows.map(incidentOf);
}

/** Instances and how far each has shipped. */
export async function fleetInstances(
  client: pg.ClientBase,
): Promise<
  { name: string; lastLocalId: number; shippedEvents: number; lastShippedMs: number | null; seenMs: number }[]
> {
  const { rows } = await client.query<{
    name: string;
    last_local_id: string;
    shipped_events: string;
    last_shipped_ms: string | null;
    seen_ms: string;
  }>('SELECT name, last_local_id, shipped_events, last_shipped_ms, seen_ms FROM central_instances ORDER BY name');
  return rows.map((row) => ({
    name: row.name,
    lastLocalId: Number(row.last_local_id),
    shippedEvents: Number(row.shipped_events),
    lastShippedMs: row.last_shipped_ms === null ? null : Number(row.last_shipped_ms),
    seenMs: Number(row.seen_ms),
  }));
}

export interface FleetMinerLoginFilter {
  readonly instance?: string;
  readonly client?: string;
  /** A CIDR (already validated): the addresses in it that logged in. */
  readonly network?: string;
  readonly wallet?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
}

export interface FleetMinerLogin {
  readonly id: number;
  readonly instance: string;
  readonly localId: number;
  readonly timeMs: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly port: number;
  readonly tls: boolean;
  readonly protocol: string;
  readonly login: string;
  readonly wallet: string;
  readonly worker: string | null;
  readonly password: string | null;
  readonly agent: string | null;
  readonly algorithms: unknown;
  readonly identity: unknown;
  /** The fleet incident it escalated (null when incidents are off). */
  readonly incidentId: number | null;
}

interface MinerLoginRow {
  id: string;
  instance: string;
  local_id: string;
  time_ms: string;
  client_ip: string;
  client_port: number;
  port: number;
  tls: boolean;
  protocol: string;
  login: string;
  wallet: string;
  worker: string | null;
  password: string | null;
  agent: string | null;
  algorithms: unknown;
  identity: unknown;
  incident_id: string | null;
}

/** Miner logins of every instance, newest first by keyset (time_ms, id); each filter has its index. */
export async function fleetMinerLogins(
  client: pg.ClientBase,
  filter: FleetMinerLoginFilter,
  limit: number,
  cursor?: FleetCursor,
): Promise<{ logins: FleetMinerLogin[]; nextCursor?: FleetCursor }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (column: string, op: string, value: unknown): void => {
    params.push(value);
    where.push(`${column} ${op} $${params.length}`);
  };
  if (filter.instance !== undefined) add('instance', '=', filter.instance);
  if (filter.client !== undefined) add('client_ip', '=', filter.client);
  if (filter.network !== undefined) add('client_inet', '<<=', filter.network);
  if (filter.wallet !== undefined) add('wallet', '=', filter.wallet);
  if (filter.sinceMs !== undefined) add('time_ms', '>=', filter.sinceMs);
  if (filter.untilMs !== undefined) add('time_ms', '<', filter.untilMs);
  if (cursor !== undefined) {
    params.push(cursor.timeMs, cursor.id);
    where.push(`(time_ms, id) < ($${params.length - 1}, $${params.length})`);
  }
  params.push(limit + 1);
  const { rows } = await client.query<MinerLoginRow>(
    `SELECT id, instance, local_id, time_ms, client_ip, client_port, port, tls, protocol, login, wallet, worker,
       password, agent, algorithms, identity, incident_id
FROM central_miner_logins ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
ORDER BY time_ms DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const logins = rows.slice(0, limit).map((row) => ({
    id: Number(row.id),
    instance: row.instance,
    localId: splitCentralLocalId(row.local_id).localId,
    timeMs: Number(row.time_ms),
    clientIp: row.client_ip,
    clientPort: row.client_port,
    port: row.port,
    tls: row.tls,
    protocol: row.protocol,
    login: row.login,
    wallet: row.wallet,
    worker: row.worker,
    password: row.password,
    agent: row.agent,
    algorithms: row.algorithms,
    identity: row.identity,
    incidentId: row.incident_id === null ? null : Number(row.incident_id),
  }));
  const last = logins[logins.length - 1];
  return rows.length > limit && last !== undefined
    ? { logins, nextCursor: { timeMs: last.timeMs, id: last.id } }
    : { logins };
}

/**
 * The hosts any instance has seen inside `cidr` (a CIDR already validated), stopping at `max` + 1:
 * a CIDR `client` filter of /fleet/events becomes these addresses, as clientsIn does for the local log.
 */
export async function fleetClientsIn(client: pg.ClientBase, cidr: string, max: number): Promise<ClientSet> {
  const { rows } = await client.query<{ client_ip: string }>(
    'SELECT DISTINCT client_ip FROM central_hosts WHERE client_inet <<= $1::inet LIMIT $2',
    [cidr, max + 1],
  );
  if (rows.length > max) return { kind: 'too-many', max };
  return { kind: 'clients', clients: rows.map((row) => row.client_ip) };
}
