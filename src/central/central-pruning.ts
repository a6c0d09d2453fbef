/**
 * Retention of the fleet tables that are not partitioned (maintenance.ts runs it after the events'
 * partitions, under the same advisory lock and central.postgres.retentionDays): miner logins older
 * than the cut, hosts last seen before it, and resolved incidents whose last activity (last seen,
 * resolved) is before it, with the logins that name them. Open and acknowledged incidents stay
 * whatever their age. Each DELETE takes at most `batchRows` rows in a statement of its own (its own
 * transaction), so a backlog of millions holds no lock for long and leaves the shippers room
 * between batches. The shipping cursors do not live in these rows (central_key_spaces), so
 * emptying a key space ships nothing again.
 */
import type pg from 'pg';

/** Rows one DELETE removes at most. */
export const PRUNE_BATCH_ROWS = 5_000;

export interface PruneResult {
  readonly logins: number;
  readonly hosts: number;
  readonly incidents: number;
}

/**
 * Each statement deletes at most $2 rows older than $1; the row's own condition is checked again in
 * the DELETE itself, so a row a shipper has just renewed (a host seen again) stays.
 */
const DELETE_LOGINS = `DELETE FROM central_miner_logins WHERE (instance, local_id) IN (
  SELECT instance, local_id FROM central_miner_logins WHERE time_ms < $1 LIMIT $2) AND time_ms < $1`;

const DELETE_HOSTS = `DELETE FROM central_hosts WHERE (client_ip, instance) IN (
  SELECT client_ip, instance FROM central_hosts WHERE last_seen_ms < $1 LIMIT $2) AND last_seen_ms < $1`;

const RESOLVED_BEFORE = `state = 'resolved' AND last_seen_ms < $1 AND COALESCE(resolved_ms, 0) < $1`;

const DELETE_INCIDENTS = `WITH gone AS (
  DELETE FROM central_incidents WHERE id IN (
    SELECT id FROM central_incidents WHERE ${RESOLVED_BEFORE} LIMIT $2) AND ${RESOLVED_BEFORE}
  RETURNING id
), logins AS (
  DELETE FROM central_miner_logins WHERE incident_id IN (SELECT id FROM gone) RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS incidents, (SELECT count(*) FROM logins) AS logins`;

/** Runs `sql` until a statement deletes fewer than `batchRows`; the rows deleted in all. */
async function deleteInBatches(
  client: pg.ClientBase,
  sql: string,
  cutoffMs: number,
  batchRows: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await client.query(sql, [cutoffMs, batchRows]);
    const deleted = result.rowCount ?? 0;
    total += deleted;
    if (deleted < batchRows) return total;
  }
}

/** Deletes the logins, hosts and resolved incidents past `cutoffMs`; the caller holds the maintenance lock. */
export async function pruneExpiredRows(
  client: pg.ClientBase,
  cutoffMs: number,
  batchRows = PRUNE_BATCH_ROWS,
): Promise<PruneResult> {
  const logins = await deleteInBatches(client, DELETE_LOGINS, cutoffMs, batchRows);
  let incidents = 0;
  let incidentLogins = 0;
  for (;;) {
    const { rows } = await client.query<{ incidents: string; logins: string }>(DELETE_INCIDENTS, [cutoffMs, batchRows]);
    const deleted = Number(rows[0]?.incidents ?? 0);
    incidents += deleted;
    incidentLogins += Number(rows[0]?.logins ?? 0);
    if (deleted < batchRows) break;
  }
  const hosts = await deleteInBatches(client, DELETE_HOSTS, cutoffMs, batchRows);
  return { logins: logins + incidentLogins, hosts, incidents };
}
