/**
 * The one place that maps a local (SQLite) miner login (miner_logins, schema v6) to its central
 * (PostgreSQL) row in central_miner_logins (central migration 2), as event-columns.ts does for
 * block events. The local incident id is not shipped: the central row gets the fleet incident's.
 */
import { centralLocalId } from './key-space.js';

/** Columns of the local `miner_logins` table the shipper reads, after a cursor, in id order. */
export const LOCAL_LOGIN_SELECT = `
SELECT id, time_ms, client_ip, client_port, port, tls, protocol, login, wallet, worker, password, agent,
       algorithms_json, identity_json
FROM miner_logins WHERE id > ? ORDER BY id LIMIT ?`;

export interface LocalLoginRow {
  readonly id: number;
  readonly time_ms: number;
  readonly client_ip: string;
  readonly client_port: number;
  readonly port: number;
  readonly tls: number;
  readonly protocol: string;
  readonly login: string;
  readonly wallet: string;
  readonly worker: string | null;
  readonly password: string | null;
  readonly agent: string | null;
  readonly algorithms_json: string;
  readonly identity_json: string | null;
}

const CENTRAL_LOGIN_COLUMN_TYPES = [
  ['instance', 'text[]'],
  ['local_id', 'bigint[]'],
  ['time_ms', 'bigint[]'],
  ['client_ip', 'text[]'],
  ['client_port', 'int[]'],
  ['port', 'int[]'],
  ['tls', 'boolean[]'],
  ['protocol', 'text[]'],
  ['login', 'text[]'],
  ['wallet', 'text[]'],
  ['worker', 'text[]'],
  ['password', 'text[]'],
  ['agent', 'text[]'],
  ['algorithms', 'jsonb[]'],
  ['identity', 'jsonb[]'],
] as const;

/** PostgreSQL text cannot hold NUL; a miner's text may. NUL becomes `\000`, as in event-columns.ts. */
function pgText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\000') : text;
}

function pgOptional(text: string | null): string | null {
  return text === null ? null : pgText(text);
}

/** jsonb refuses \u0000 as well: strings inside the JSON get pgText too (null: not JSON, so not kept). */
function pgJson(json: string): string | null {
  try {
    return JSON.stringify(JSON.parse(json), (_key, value: unknown) =>
      typeof value === 'string' ? pgText(value) : value,
    );
  } catch {
    return null; // written by this program; a damaged value ships as none rather than blocking the stream
  }
}

/** Column-wise arrays, in CENTRAL_LOGIN_COLUMN_TYPES' order, for CENTRAL_LOGIN_INSERT; local_id in key space `epoch`. */
export function toCentralLoginColumns(instance: string, rows: readonly LocalLoginRow[], epoch: number): unknown[][] {
  return [
    rows.map(() => instance),
    rows.map((r) => centralLocalId(epoch, r.id)),
    rows.map((r) => r.time_ms),
    rows.map((r) => r.client_ip),
    rows.map((r) => r.client_port),
    rows.map((r) => r.port),
    rows.map((r) => r.tls === 1),
    rows.map((r) => pgText(r.protocol)),
    rows.map((r) => pgText(r.login)),
    rows.map((r) => pgText(r.wallet)),
    rows.map((r) => pgOptional(r.worker)),
    rows.map((r) => pgOptional(r.password)),
    rows.map((r) => pgOptional(r.agent)),
    rows.map((r) => pgJson(r.algorithms_json) ?? '[]'),
    rows.map((r) => (r.identity_json === null ? null : pgJson(r.identity_json))),
  ];
}

export const CENTRAL_LOGIN_INSERT = `INSERT INTO central_miner_logins (${CENTRAL_LOGIN_COLUMN_TYPES.map(([c]) => c).join(', ')})
SELECT * FROM unnest(${CENTRAL_LOGIN_COLUMN_TYPES.map(([, type], i) => `$${i + 1}::${type}`).join(', ')})
ON CONFLICT (instance, local_id) DO NOTHING`;
