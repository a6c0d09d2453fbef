/**
 * What the admin API and CLI read about miner logins (table miner_logins, schema v6), answered by
 * the reader thread through EventQueries. Pages go newest first by (time, id), keyset like
 * /events; a CIDR client filter is matched against the addresses that logged in (few), and every
 * value is a bound parameter.
 */
import { PoolsinkError } from '../errors.js';
import type { HostIdentity } from '../inventory/host-identity.js';
import { parseCidr } from '../net/address.js';
import { createCidrMatcher } from '../net/cidr-match.js';
import type { SqliteDatabase } from '../store/database.js';
import type { EventCursor } from '../store/types.js';
import { STRATUM_FLAVOURS, type StratumFlavour } from './stratum-session.js';

export interface MinerLoginFilter {
  readonly client?: string;
  /** A CIDR (already validated): the addresses in it that logged in. */
  readonly network?: string;
  readonly wallet?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly incidentId?: number;
}

export interface StoredMinerLogin {
  readonly id: number;
  readonly timeMs: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly identity: HostIdentity | null;
  readonly port: number;
  readonly tls: boolean;
  readonly protocol: StratumFlavour;
  readonly login: string;
  readonly wallet: string;
  readonly worker: string | null;
  readonly password: string | null;
  readonly agent: string | null;
  readonly algorithms: readonly string[];
  readonly incidentId: number | null;
}

export interface MinerLoginPage {
  readonly logins: readonly StoredMinerLogin[];
  readonly nextCursor?: EventCursor;
}

/** Logins an incident detail shows at most (the latest). */
export const INCIDENT_MAX_LOGINS = 50;
/** Addresses a CIDR filter may stand for at most. */
const MAX_NETWORK_CLIENTS = 10_000;

interface Row {
  id: number;
  time_ms: number;
  client_ip: string;
  client_port: number;
  port: number;
  tls: number;
  protocol: string;
  login: string;
  wallet: string;
  worker: string | null;
  password: string | null;
  agent: string | null;
  algorithms_json: string;
  identity_json: string | null;
  incident_id: number | null;
}

function parsedJson(json: string | null): unknown {
  if (json === null) return null;
  try {
    return JSON.parse(json);
  } catch {
    return null; // written by this program; a damaged value shows as none
  }
}

function identityOf(json: string | null): HostIdentity | null {
  const value = parsedJson(json);
  if (typeof value !== 'object' || value === null || !('source' in value)) return null;
  return { ...value, source: value.source === 'reverse-dns' ? 'reverse-dns' : 'inventory' };
}

function loginOf(row: Row): StoredMinerLogin {
  const algorithms = parsedJson(row.algorithms_json);
  return {
    id: row.id,
    timeMs: row.time_ms,
    clientIp: row.client_ip,
    clientPort: row.client_port,
    identity: identityOf(row.identity_json),
    port: row.port,
    tls: row.tls === 1,
    protocol: STRATUM_FLAVOURS.find((f) => f === row.protocol) ?? 'bitcoin',
    login: row.login,
    wallet: row.wallet,
    worker: row.worker,
    password: row.password,
    agent: row.agent,
    algorithms: Array.isArray(algorithms) ? algorithms.filter((a): a is string => typeof a === 'string') : [],
    incidentId: row.incident_id,
  };
}

export function prepareMinerLoginReads(db: SqliteDatabase) {
  const pages = new Map<string, ReturnType<typeof db.prepare<(string | number)[], Row>>>();
  return {
    page(sql: string) {
      let statement = pages.get(sql);
      if (statement === undefined) {
        statement = db.prepare<(string | number)[], Row>(sql);
        pages.set(sql, statement);
      }
      return statement;
    },
    clients: db.prepare<[], { client_ip: string }>('SELECT DISTINCT client_ip FROM miner_logins'),
  };
}

export type MinerLoginReads = ReturnType<typeof prepareMinerLoginReads>;

function clientsIn(reads: MinerLoginReads, cidrText: string): string[] {
  const cidr = parseCidr(cidrText);
  if (cidr === undefined) throw new PoolsinkError('ERR_INVALID', `client: ${JSON.stringify(cidrText)} is not a CIDR`);
  const matches = createCidrMatcher(cidr);
  const clients: string[] = [];
  for (const { client_ip: address } of reads.clients.iterate()) {
    if (!matches(address)) continue;
    if (clients.length === MAX_NETWORK_CLIENTS)
      throw new PoolsinkError('ERR_INVALID', `client: ${cidrText} matches too many addresses; use a longer prefix`);
    clients.push(address);
  }
  return clients;
}

export function listMinerLogins(
  reads: MinerLoginReads,
  filter: MinerLoginFilter,
  limit: number,
  cursor?: EventCursor,
): MinerLoginPage {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, value: string | number): void => {
    where.push(clause);
    params.push(value);
  };
  if (filter.client !== undefined) add('client_ip = ?', filter.client);
  if (filter.network !== undefined)
    add('client_ip IN (SELECT value FROM json_each(?))', JSON.stringify(clientsIn(reads, filter.network)));
  if (filter.wallet !== undefined) add('wallet = ?', filter.wallet);
  if (filter.sinceMs !== undefined) add('time_ms >= ?', filter.sinceMs);
  if (filter.untilMs !== undefined) add('time_ms < ?', filter.untilMs);
  if (filter.incidentId !== undefined) add('incident_id = ?', filter.incidentId);
  if (cursor !== undefined) {
    where.push('(time_ms, id) < (?, ?)');
    params.push(cursor.timeMs, cursor.id);
  }
  const sql = `SELECT * FROM miner_logins${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}
    ORDER BY time_ms DESC, id DESC LIMIT ?`;
  const rows = reads.page(sql).all(...params, limit + 1);
  const logins = rows.slice(0, limit).map(loginOf);
  const last = rows.length > limit ? logins[logins.length - 1] : undefined;
  return last === undefined ? { logins } : { logins, nextCursor: { timeMs: last.timeMs, id: last.id } };
}
