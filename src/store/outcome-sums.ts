/**
 * Query outcome counts over a window that runs from a minute to now (/stats, /overview): the whole
 * hours from outcome_hours, the minutes before the first whole hour from outcome_minutes. The sums
 * are those of outcome_minutes alone (each outcome_hours row is the sum of its minutes:
 * outcome-hours-schema.ts), read from at most about 60 + 24 rows per outcome and day instead of 1,440.
 */
import type { SqliteDatabase } from './database.js';
import { EVENTS_DROPPED_OUTCOME, HOUR_MS, hourOf, minuteOf } from './schema.js';

interface OutcomeRow {
  key: string;
  count: number;
}

export function prepareOutcomesSince(db: SqliteDatabase) {
  return db.prepare<{ fromMinute: number; fromHour: number }, OutcomeRow>(
    `SELECT key, sum(count) AS count FROM (
       SELECT outcome AS key, count FROM outcome_minutes WHERE minute_ms >= @fromMinute AND minute_ms < @fromHour
       UNION ALL
       SELECT outcome AS key, count FROM outcome_hours WHERE hour_ms >= @fromHour)
     GROUP BY key`,
  );
}

export type OutcomesSinceStatement = ReturnType<typeof prepareOutcomesSince>;

export interface OutcomeSums {
  /** Query outcomes (forwarded, cached, blocked, ...); the dropped events are not one. */
  readonly outcomes: Record<string, number>;
  /** Events the block log dropped (EVENTS_DROPPED_OUTCOME). */
  readonly droppedEvents: number;
}

/** Outcome counts of the minutes from sinceMs's (counted whole) on. */
export function outcomesSince(statement: OutcomesSinceStatement, sinceMs: number): OutcomeSums {
  const fromMinute = minuteOf(sinceMs);
  const hour = hourOf(fromMinute);
  const fromHour = hour === fromMinute ? hour : hour + HOUR_MS;
  const outcomes: Record<string, number> = {};
  let droppedEvents = 0;
  for (const row of statement.all({ fromMinute, fromHour })) {
    if (row.key === EVENTS_DROPPED_OUTCOME) droppedEvents = row.count;
    else outcomes[row.key] = row.count;
  }
  return { outcomes, droppedEvents };
}
