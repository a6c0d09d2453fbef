/**
 * Schema migration 12: host_days and domain_days, the hourly counts of host_hours and domain_hours
 * summed per UTC day, so /stats over a week or a month reads a row per day instead of 24 per key.
 *
 * day_rollups (one row) says which day rows are valid:
 * - compacted_below_ms: every day below it has been compacted (day-rollups.ts, run by the pruner in
 *   the writer thread); the batch writer adds an hour row's count to its day row too when the hour
 *   is below it (rollup-writes.ts), so a compacted day stays the sum of its hours when late events
 *   arrive.
 * - kept_from_ms: retention deleted hours of the days below it, so their day rows are no longer
 *   sums of the hours kept and are deleted (retention.ts); readers use hours there.
 *
 * /stats (stats-query.ts) sums day rows for the days in [max(first whole day, kept_from_ms),
 * max(that, compacted_below_ms)) and hour rows elsewhere, which equals summing hours alone.
 *
 * The upgrade compacts every day before the newest hour with data (one pass over each table in
 * key order); a new database starts with nothing compacted.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Migration } from './schema.js';

export const DAY_MS = 86_400_000;

export function dayOf(timeMs: number): number {
  return Math.floor(timeMs / DAY_MS) * DAY_MS;
}

export const DAY_ROLLUPS_MIGRATION: Migration = {
  version: 12,
  description: 'host_days, domain_days: hourly counts summed per day, filled from the complete days of the hours',
  up(db: BetterSqlite3.Database): void {
    db.exec(`
CREATE TABLE host_days (
  client_ip TEXT NOT NULL,
  day_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (client_ip, day_ms)
) WITHOUT ROWID;
CREATE TABLE domain_days (
  qname TEXT NOT NULL,
  day_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (qname, day_ms)
) WITHOUT ROWID;
CREATE TABLE day_rollups (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  compacted_below_ms INTEGER NOT NULL,
  kept_from_ms INTEGER NOT NULL
);
INSERT INTO day_rollups (id, compacted_below_ms, kept_from_ms)
  SELECT 0, coalesce(max(hour_ms) / ${DAY_MS} * ${DAY_MS}, 0), 0 FROM list_hours;
INSERT INTO host_days (client_ip, day_ms, count)
  SELECT client_ip, hour_ms / ${DAY_MS} * ${DAY_MS} AS day, sum(count) FROM host_hours
  WHERE hour_ms < (SELECT compacted_below_ms FROM day_rollups) GROUP BY client_ip, day;
INSERT INTO domain_days (qname, day_ms, count)
  SELECT qname, hour_ms / ${DAY_MS} * ${DAY_MS} AS day, sum(count) FROM domain_hours
  WHERE hour_ms < (SELECT compacted_below_ms FROM day_rollups) GROUP BY qname, day;
`);
  },
};
