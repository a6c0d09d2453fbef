/**
 * Day compaction (schema v12, day-rollups-schema.ts): writes host_days and domain_days rows for the
 * complete UTC days not compacted yet, each the sum of that day's hour rows, and moves
 * day_rollups.compacted_below_ms past them in the same transaction. Run by the pruner in the writer
 * thread (retention.ts), one day per transaction, never per event.
 *
 * A day is compacted once it ended COMPACT_AFTER_MS ago (late events then are rare); events that
 * still arrive for a compacted day are added to its day row by the batch writer (rollup-writes.ts),
 * so a day row always equals the sum of its hours. Re-compacting a day replaces its rows with the
 * same sums, so a pass interrupted before its commit is simply done again.
 */
import type { SqliteDatabase } from './database.js';
import { DAY_MS, dayOf } from './day-rollups-schema.js';

/** How long after its end a day is compacted. */
export const COMPACT_AFTER_MS = 3_600_000;

/**
 * One key's day row from its hours, for the keys seen since the day started (a key with an hour in
 * the day was last seen at or after it): one index seek per key.
 */
function compactSql(keyColumn: string, summaryTable: string, lastSeenIndex: string, table: string): string {
  return `INSERT OR REPLACE INTO ${table}_days (${keyColumn}, day_ms, count)
    SELECT key, @day, n FROM (
      SELECT s.${keyColumn} AS key,
        (SELECT sum(count) FROM ${table}_hours h WHERE h.${keyColumn} = s.${keyColumn}
           AND h.hour_ms >= @day AND h.hour_ms < @day + ${DAY_MS}) AS n
      FROM ${summaryTable} s INDEXED BY ${lastSeenIndex} WHERE s.last_seen_ms >= @day)
    WHERE n IS NOT NULL`;
}

export function prepareDayCompaction(db: SqliteDatabase) {
  return {
    state: db.prepare<[], { compactedBelow: number; keptFrom: number }>(
      'SELECT compacted_below_ms AS compactedBelow, kept_from_ms AS keptFrom FROM day_rollups',
    ),
    // list_hours is keyed by hour first: its oldest hour is the oldest hour holding any event.
    oldestHour: db.prepare<[], { hour: number | null }>('SELECT min(hour_ms) AS hour FROM list_hours'),
    hostDays: db.prepare<{ day: number }>(compactSql('client_ip', 'hosts', 'hosts_last_seen', 'host')),
    domainDays: db.prepare<{ day: number }>(compactSql('qname', 'domains', 'domains_last_seen', 'domain')),
    setCompactedBelow: db.prepare<[number]>('UPDATE day_rollups SET compacted_below_ms = max(compacted_below_ms, ?)'),
  };
}

export type DayCompaction = ReturnType<typeof prepareDayCompaction>;

/**
 * Compacts the next complete day not compacted yet, in one transaction. Returns the day compacted,
 * or undefined when every complete day (as of nowMs) is (days without hours are skipped at once).
 */
export function compactNextDay(db: SqliteDatabase, s: DayCompaction, nowMs: number): number | undefined {
  return db
    .transaction((): number | undefined => {
      const state = s.state.get();
      if (state === undefined) return undefined;
      const completeBelow = dayOf(nowMs - COMPACT_AFTER_MS);
      if (state.compactedBelow >= completeBelow) return undefined;
      const oldest = s.oldestHour.get()?.hour ?? null;
      const day = Math.max(state.compactedBelow, state.keptFrom, oldest === null ? completeBelow : dayOf(oldest));
      if (day >= completeBelow) {
        s.setCompactedBelow.run(completeBelow);
        return undefined;
      }
      s.hostDays.run({ day });
      s.domainDays.run({ day });
      s.setCompactedBelow.run(day + DAY_MS);
      return day;
    })
    .immediate();
}

/** Compacts every complete day not compacted yet (the bench's seed; the pruner goes a day per turn). */
export function compactCompleteDays(db: SqliteDatabase, nowMs: number): number {
  const s = prepareDayCompaction(db);
  let days = 0;
  while (compactNextDay(db, s, nowMs) !== undefined) days += 1;
  return days;
}
