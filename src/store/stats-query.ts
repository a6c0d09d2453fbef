/**
 * /stats over the hourly rollups. Whole hours come from host_hours, domain_hours and list_hours; a
 * window that starts inside an hour is made exact with the events of the part of that hour nearer
 * its edge, never more than half an hour of them:
 *
 * - since in the hour's second half: rollups from the next hour, plus the events [since, next hour);
 * - since in the first half: rollups from the hour itself, minus the events [hour, since).
 *
 * If that half hour holds more than edgeScanMaxEvents events, the window starts at the hour instead
 * and Stats.sinceMs says so. Outcome counts are per minute: the window's first minute counts whole
 * (outcome-sums.ts).
 *
 * A host's (domain's) whole hours are summed from host_days (domain_days) for the complete days
 * compacted (day-rollups-schema.ts) and from host_hours (domain_hours) before and after them: the
 * same sums, with a row per day instead of 24.
 */
import type { SqliteDatabase } from './database.js';
import { outcomesSince, prepareOutcomesSince } from './outcome-sums.js';
import { DAY_MS } from './day-rollups-schema.js';
import { HOUR_MS, hourOf } from './schema.js';
import type { Stats } from './types.js';

interface CountRow {
  key: string;
  count: number;
}

interface WindowParams {
  activeSince: number;
  fromHour: number;
  /** The first midnight at or after fromHour: day rows are read from there (or later) on. */
  firstDay: number;
  edgeFromMs: number;
  edgeToMs: number;
  sign: number;
  /** SQLite's LIMIT -1: no limit. */
  limit: number;
}

/**
 * Counts per key over the window, largest first, entirely in SQLite (only the top rows reach JS):
 * the rollup counts from fromHour, plus `sign` times the edge's events counted per key.
 */
function windowSql(rollup: string, edgeColumn: string): string {
  return `WITH rollup AS MATERIALIZED (${rollup}),
    edge AS (SELECT ${edgeColumn} AS key, sum(count) AS n FROM events INDEXED BY events_time
             WHERE time_ms >= @edgeFromMs AND time_ms < @edgeToMs GROUP BY ${edgeColumn})
    SELECT key, sum(c) AS count FROM (
      SELECT key, coalesce(count, 0) AS c FROM rollup UNION ALL SELECT key, @sign * n AS c FROM edge)
    GROUP BY key HAVING sum(c) > 0 ORDER BY count DESC, key LIMIT @limit`;
}

/**
 * The hosts (domains) active since activeSince, each with the sum of its rollup rows from
 * fromHour: when the window holds compacted days, its hours before them, its day rows for them and
 * its hours after them; otherwise its hours alone. One index seek per sum and key. `days` is the
 * range of day rows to read, as of the statement's own snapshot (day_rollups moves with the rows
 * it describes). MATERIALIZED keeps SQLite from evaluating the correlated sums once per use.
 */
function keyedRollup(keyColumn: string, summaryTable: string, table: string): string {
  const sum = (from: string, range: string): string =>
    `coalesce((SELECT sum(count) FROM ${from} r WHERE r.${keyColumn} = s.${keyColumn} AND ${range}), 0)`;
  return `SELECT s.${keyColumn} AS key,
      CASE WHEN days.toMs > days.fromMs THEN
        ${sum(`${table}_hours`, 'r.hour_ms >= @fromHour AND r.hour_ms < days.fromMs')}
        + ${sum(`${table}_days`, 'r.day_ms >= days.fromMs AND r.day_ms < days.toMs')}
        + ${sum(`${table}_hours`, 'r.hour_ms >= days.toMs')}
      ELSE ${sum(`${table}_hours`, 'r.hour_ms >= @fromHour')} END AS count
    FROM (SELECT max(@firstDay, kept_from_ms) AS fromMs, max(@firstDay, kept_from_ms, compacted_below_ms) AS toMs
          FROM day_rollups) days, ${summaryTable} s
    WHERE s.last_seen_ms >= @activeSince`;
}

export function prepareStatsStatements(db: SqliteDatabase) {
  return {
    topDomains: db.prepare<WindowParams, CountRow>(windowSql(keyedRollup('qname', 'domains', 'domain'), 'qname')),
    topHosts: db.prepare<WindowParams, CountRow>(windowSql(keyedRollup('client_ip', 'hosts', 'host'), 'client_ip')),
    perList: db.prepare<WindowParams, CountRow>(
      windowSql(
        'SELECT list AS key, sum(count) AS count FROM list_hours WHERE hour_ms >= @fromHour GROUP BY list',
        'list',
      ),
    ),
    outcomes: prepareOutcomesSince(db),
    edgeCount: db.prepare<[number, number], { n: number }>(
      'SELECT count(*) AS n FROM events INDEXED BY events_time WHERE time_ms >= ? AND time_ms < ?',
    ),
  };
}

export type StatsStatements = ReturnType<typeof prepareStatsStatements>;

interface Window {
  /** Where the counted window starts (sinceMs, or the hour before it when the edge is too busy). */
  readonly startMs: number;
  /** Rollup rows from this hour on are counted. */
  readonly fromHour: number;
  /** Events in [edgeFromMs, edgeToMs) are added (+1) or subtracted (-1); none when sign is 0. */
  readonly edgeFromMs: number;
  readonly edgeToMs: number;
  readonly sign: 1 | -1 | 0;
}

function windowFor(statements: StatsStatements, sinceMs: number, edgeScanMaxEvents: number): Window {
  const hour = hourOf(sinceMs);
  const whole: Window = { startMs: hour, fromHour: hour, edgeFromMs: 0, edgeToMs: 0, sign: 0 };
  if (sinceMs === hour) return whole;
  const window: Window =
    sinceMs - hour >= HOUR_MS / 2
      ? { startMs: sinceMs, fromHour: hour + HOUR_MS, edgeFromMs: sinceMs, edgeToMs: hour + HOUR_MS, sign: 1 }
      : { startMs: sinceMs, fromHour: hour, edgeFromMs: hour, edgeToMs: sinceMs, sign: -1 };
  const edgeEvents = statements.edgeCount.get(window.edgeFromMs, window.edgeToMs)?.n ?? 0;
  return edgeEvents <= edgeScanMaxEvents ? window : whole;
}

/** The window's statement parameters, its top rows limited to `limit`. */
function paramsOf(window: Window, limit: number): WindowParams {
  return {
    activeSince: Math.min(window.startMs, window.fromHour),
    fromHour: window.fromHour,
    firstDay: Math.ceil(window.fromHour / DAY_MS) * DAY_MS,
    edgeFromMs: window.edgeFromMs,
    edgeToMs: window.edgeToMs,
    sign: window.sign,
    limit,
  };
}

export function queryStats(
  statements: StatsStatements,
  sinceMs: number,
  topLimit: number,
  edgeScanMaxEvents: number,
): Stats {
  const window = windowFor(statements, sinceMs, edgeScanMaxEvents);
  const params = paramsOf(window, topLimit);
  const { outcomes, droppedEvents } = outcomesSince(statements.outcomes, window.startMs);
  return {
    sinceMs: window.startMs,
    outcomes,
    droppedEvents,
    topDomains: statements.topDomains.all(params).map((r) => ({ domain: r.key, count: r.count })),
    topHosts: statements.topHosts.all(params).map((r) => ({ clientIp: r.key, count: r.count })),
    perList: statements.perList.all(paramsOf(window, -1)).map((r) => ({ list: r.key, count: r.count })),
  };
}

/** The top names of the window since sinceMs alone (the dashboard's overview), counted as queryStats counts them. */
export function queryTopDomains(
  statements: StatsStatements,
  sinceMs: number,
  topLimit: number,
  edgeScanMaxEvents: number,
): readonly { readonly domain: string; readonly count: number }[] {
  const window = windowFor(statements, sinceMs, edgeScanMaxEvents);
  return statements.topDomains.all(paramsOf(window, topLimit)).map((r) => ({ domain: r.key, count: r.count }));
}
