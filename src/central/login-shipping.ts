/**
 * The shipper's second stream: the honeypot's miner logins, by their own id cursor (in the local
 * database's key space, key-space.ts), in one transaction per batch like the events: the instance's
 * row locked, the logins inserted with ON CONFLICT (instance, local_id) DO NOTHING, the newly
 * inserted ones raising their hosts' fleet incidents to critical, the cursor moved.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { LocalDatabaseIdentity } from '../store/database-identity.js';
import { advanceCursor, keySpaceOf } from './key-space.js';
import { loginReason } from '../honeypot/writer-logins.js';
import { foldLoginsIntoIncidents, type HostLogins } from './central-incidents.js';
import { CENTRAL_LOGIN_INSERT, toCentralLoginColumns, type LocalLoginRow } from './login-columns.js';

export interface LoginBatchOptions {
  readonly instance: string;
  readonly identity: LocalDatabaseIdentity;
  readonly log: Logger;
  readonly readLogins: (afterId: number, limit: number) => readonly LocalLoginRow[];
  readonly batchSize: number;
  readonly nowMs: number;
  /** Whether fleet incidents are kept (incidents.enabled). */
  readonly incidents: boolean;
}

interface InsertedLogin {
  local_id: string;
  client_ip: string;
  time_ms: string;
  port: number;
  tls: boolean;
  protocol: string;
  identity: unknown;
}

function perHost(rows: readonly InsertedLogin[]): HostLogins[] {
  const hosts = new Map<string, HostLogins & { count: number; firstMs: number; lastMs: number }>();
  for (const row of rows) {
    const timeMs = Number(row.time_ms);
    const host = hosts.get(row.client_ip);
    if (host === undefined) {
      hosts.set(row.client_ip, {
        clientIp: row.client_ip,
        firstMs: timeMs,
        lastMs: timeMs,
        count: 1,
        identity: row.identity,
        reason: loginReason({ port: row.port, tls: row.tls, flavour: row.protocol }),
      });
      continue;
    }
    host.count += 1;
    host.firstMs = Math.min(host.firstMs, timeMs);
    host.lastMs = Math.max(host.lastMs, timeMs);
  }
  return [...hosts.values()];
}

/** One batch inside the caller's transaction: the local logins it covered and those newly inserted. */
export async function shipLoginBatch(
  client: pg.ClientBase,
  options: LoginBatchOptions,
): Promise<{ covered: number; inserted: number }> {
  const { instance } = options;
  await client.query(
    `INSERT INTO central_instances (name, seen_ms) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET seen_ms = EXCLUDED.seen_ms`,
    [instance, options.nowMs],
  );
  const keySpace = await keySpaceOf(client, 'logins', options);
  const { epoch, cursor } = keySpace;
  const logins = options.readLogins(cursor, options.batchSize);
  const last = logins[logins.length - 1];
  if (last === undefined) return { covered: 0, inserted: 0 };
  const inserted = await client.query<InsertedLogin>(
    `${CENTRAL_LOGIN_INSERT} RETURNING local_id, client_ip, time_ms, port, tls, protocol, identity`,
    toCentralLoginColumns(instance, logins, epoch),
  );
  if (options.incidents && inserted.rows.length > 0) {
    const incidentIds = await foldLoginsIntoIncidents(client, instance, perHost(inserted.rows));
    const clients = [...incidentIds.keys()];
    await client.query(
      `UPDATE central_miner_logins l SET incident_id = t.incident_id
FROM unnest($2::text[], $3::bigint[]) AS t(client_ip, incident_id)
WHERE l.instance = $1 AND l.client_ip = t.client_ip AND l.local_id = ANY ($4::bigint[])`,
      [instance, clients, clients.map((ip) => incidentIds.get(ip)), inserted.rows.map((r) => r.local_id)],
    );
  }
  await client.query(
    'UPDATE central_instances SET last_login_id = $2, shipped_logins = shipped_logins + $3 WHERE name = $1',
    [instance, last.id, inserted.rowCount ?? 0],
  );
  await advanceCursor(client, 'logins', instance, keySpace, last.id);
  return { covered: logins.length, inserted: inserted.rowCount ?? 0 };
}
