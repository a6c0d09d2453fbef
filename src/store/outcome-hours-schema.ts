/**
 * Schema migration 11: outcome_hours, the query outcome counts of outcome_minutes summed per hour.
 * Its own module so schema.ts takes it with one line (outcome-sums.ts holds the SQL that reads it).
 *
 * The dashboard's outcome series (whole hours) and /stats and /overview over long windows read it
 * instead of a row per minute: 30 days are about 5,000 rows instead of 260,000. Invariant: each
 * row is the sum of outcome_minutes' rows of its hour; the writer upserts both in one transaction
 * (rollup-writes.ts), this migration fills it from the minutes, and retention deletes both below
 * the same hour (retention.ts).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Migration } from './schema.js';

export const OUTCOME_HOURS_MIGRATION: Migration = {
  version: 11,
  description: 'outcome_hours: query outcome counts per hour, filled from outcome_minutes',
  up(db: BetterSqlite3.Database): void {
    db.exec(`
CREATE TABLE outcome_hours (
  hour_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, outcome)
) WITHOUT ROWID;
INSERT INTO outcome_hours (hour_ms, outcome, count)
  SELECT CAST(minute_ms / 3600000 AS INTEGER) * 3600000 AS hour, outcome, sum(count) FROM outcome_minutes
  GROUP BY hour, outcome;
`);
  },
};
