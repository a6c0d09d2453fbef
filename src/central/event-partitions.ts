/**
 * The partitions of central_events (migrations.ts, version 3): one per UTC day, named
 * central_events_pYYYYMMDD, plus central_events_default for an event whose day has none yet. One
 * maintenance pass creates the days ahead (and the days whose events wait in the default partition,
 * moving them in), then drops whole partitions past retention and deletes expired rows from the
 * default one. Passes of several instances never overlap: a pass runs only while its instance holds
 * a session advisory lock; the others skip it. A member also creates today's partitions at first
 * contact (ensureCurrentPartitions), before it ships anything.
 */
import type pg from 'pg';

export const DAY_MS = 86_400_000;

/** The advisory lock key of maintenance ("psink" + 1; migrations use "psink"). */
const MAINTENANCE_LOCK_KEY = 0x7073696e6b + 1;

/** Days created ahead of today, so a pass that does not run for a while leaves no day without its partition. */
export const DAYS_AHEAD = 2;

const PARTITION_NAME = /^central_events_p(\d{4})(\d{2})(\d{2})$/;

/** The UTC day of a time (days since 1970-01-01). */
export function dayOf(timeMs: number): number {
  return Math.floor(timeMs / DAY_MS);
}

/** The day a partition holds, from its name; undefined for the default partition or a table not ours. */
export function partitionDay(name: string): number | undefined {
  const match = PARTITION_NAME.exec(name);
  if (match === null) return undefined;
  const [, year, month, day] = match;
  return dayOf(Date.UTC(Number(year), Number(month) - 1, Number(day)));
}

export interface MaintenanceResult {
  /** False when another instance held the lock (nothing done). */
  readonly ran: boolean;
  readonly created: number;
  readonly dropped: number;
  /** Expired rows deleted from the default partition. */
  readonly deleted: number;
}

/** The partitions of central_events by name (the default one included). */
export async function eventPartitions(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'central_events'::regclass ORDER BY c.relname`,
  );
  return rows.map((row) => row.name);
}

/** PostgreSQL's duplicate_table: the partition was created by another instance meanwhile. */
const DUPLICATE_TABLE = '42P07';

/**
 * Creates the partitions of `days` that do not exist, each in its own statement (a short lock); the
 * number created. Safe beside another instance creating the same day (a member at first contact, a
 * pass): both pass poolsink_event_partition's existence check, the second waits for the first's
 * lock on the default partition, then finds its table there (duplicate_table) and has nothing to do.
 */
async function createDayPartitions(client: pg.ClientBase, days: readonly string[]): Promise<number> {
  let created = 0;
  for (const day of days) {
    try {
      const result = await client.query<{ created: boolean }>('SELECT poolsink_event_partition($1) AS created', [day]);
      if (result.rows[0]?.created === true) created += 1;
    } catch (err: unknown) {
      if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === DUPLICATE_TABLE)) throw err;
    }
  }
  return created;
}

/**
 * Creates the partitions of days fromDay..toDay and of every day whose events wait in the default
 * partition (from oldestDay on, when given); each in its own statement (a short lock). The number created.
 */
export async function ensureEventPartitions(
  client: pg.ClientBase,
  fromDay: number,
  toDay: number,
  oldestDay?: number,
): Promise<number> {
  const { rows } = await client.query<{ day: string }>(
    `SELECT day FROM generate_series($1::bigint, $2::bigint) AS day
UNION SELECT DISTINCT floor(time_ms / 86400000.0)::bigint FROM central_events_default
WHERE $3::bigint IS NULL OR time_ms >= $3::bigint * 86400000 ORDER BY day`,
    [fromDay, toDay, oldestDay ?? null],
  );
  return createDayPartitions(
    client,
    rows.map((row) => row.day),
  );
}

/**
 * Creates the partitions of yesterday to DAYS_AHEAD days ahead that do not exist yet, without the
 * maintenance lock (createDayPartitions is safe beside a pass creating the same day): a member does
 * it at first contact, so its first shipping batch finds today's partition even while
 * another instance's pass holds the maintenance lock. The number created; a read of the catalog
 * alone when they all exist.
 */
export async function ensureCurrentPartitions(client: pg.ClientBase, nowMs: number): Promise<number> {
  const today = dayOf(nowMs);
  const { rows } = await client.query<{ day: string }>(
    `SELECT day FROM generate_series($1::bigint, $2::bigint) AS day
WHERE to_regclass('central_events_p' || to_char(timestamp 'epoch' + day * interval '1 day', 'YYYYMMDD')) IS NULL`,
    [today - 1, today + DAYS_AHEAD],
  );
  return createDayPartitions(
    client,
    rows.map((row) => row.day),
  );
}

/** Drops every day partition that ends at or before cutoffMs, deletes older rows of the default one. */
export async function dropExpiredEvents(
  client: pg.ClientBase,
  cutoffMs: number,
): Promise<{ dropped: number; deleted: number }> {
  let dropped = 0;
  for (const name of await eventPartitions(client)) {
    const day = partitionDay(name);
    if (day === undefined || (day + 1) * DAY_MS > cutoffMs) continue;
    await client.query(`DROP TABLE ${client.escapeIdentifier(name)}`);
    dropped += 1;
  }
  const deleted = await client.query('DELETE FROM central_events_default WHERE time_ms < $1', [cutoffMs]);
  return { dropped, deleted: deleted.rowCount ?? 0 };
}

/**
 * Runs `pass` while holding the maintenance advisory lock (a session lock on `client`); undefined,
 * without running it, while another instance holds it.
 */
export async function withMaintenanceLock<T>(client: pg.ClientBase, pass: () => Promise<T>): Promise<T | undefined> {
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
    MAINTENANCE_LOCK_KEY,
  ]);
  if (rows[0]?.locked !== true) return undefined;
  try {
    return await pass();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MAINTENANCE_LOCK_KEY]);
  }
}

/** The partitions' part of a pass, inside the lock: expired days dropped, days ahead created. */
export async function maintainPartitionsLocked(
  client: pg.ClientBase,
  nowMs: number,
  retentionDays: number,
): Promise<MaintenanceResult> {
  const today = dayOf(nowMs);
  const cutoffMs = retentionDays > 0 ? nowMs - retentionDays * DAY_MS : undefined;
  const expired = cutoffMs !== undefined ? await dropExpiredEvents(client, cutoffMs) : { dropped: 0, deleted: 0 };
  const oldestDay = cutoffMs !== undefined ? dayOf(cutoffMs) : undefined;
  const created = await ensureEventPartitions(client, today - 1, today + DAYS_AHEAD, oldestDay);
  return { ran: true, created, ...expired };
}

/**
 * One maintenance pass at nowMs: partitions from yesterday to DAYS_AHEAD days ahead, then (with
 * retentionDays > 0) the expired ones dropped. Skipped while another instance runs one.
 */
export async function maintainEventPartitions(
  client: pg.ClientBase,
  nowMs: number,
  retentionDays: number,
): Promise<MaintenanceResult> {
  const result = await withMaintenanceLock(client, () => maintainPartitionsLocked(client, nowMs, retentionDays));
  return result ?? { ran: false, created: 0, dropped: 0, deleted: 0 };
}
