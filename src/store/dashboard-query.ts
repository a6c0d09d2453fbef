/**
 * The dashboard's reads (GET /api/v1/timeseries and the stored half of /overview), each from the
 * rollups or an index so it stays cheap at ten million events:
 *
 * - timeseries: list_hours summed into fixed buckets (a whole number of hours each, aligned to the
 *   epoch), and outcome_hours into the same buckets. Counts are exact for every event whose
 *   rollup rows are written (the writer batches them every rollupIntervalMs, 5 s by default).
 * - overview: active incidents by (state, severity) (at most one per host), hosts by last_seen_ms
 *   (hosts_last_seen), the top names of a window (stats-query.ts), each name's latest list (one
 *   seek in events_rname_time) and outcomes since the window's first minute (outcome-sums.ts).
 */
import type { SqliteDatabase } from './database.js';
import { reverseName } from './reversed-names.js';
import { outcomesSince } from './outcome-sums.js';
import { EVENTS_DROPPED_OUTCOME, HOUR_MS } from './schema.js';
import { queryTopDomains, type StatsStatements } from './stats-query.js';

export const TIMESERIES_RANGES = ['24h', '7d', '30d'] as const;
export type TimeseriesRange = (typeof TIMESERIES_RANGES)[number];

/** Bucket length and count per range: 24 hours, 28 quarter days, 30 days. */
const RANGE_BUCKETS: Readonly<Record<TimeseriesRange, { readonly bucketMs: number; readonly buckets: number }>> = {
  '24h': { bucketMs: HOUR_MS, buckets: 24 },
  '7d': { bucketMs: 6 * HOUR_MS, buckets: 28 },
  '30d': { bucketMs: 24 * HOUR_MS, buckets: 30 },
};

export interface TimeseriesBucket {
  readonly startMs: number;
  /** Blocked and alerted queries in the bucket. */
  readonly total: number;
  readonly byList: Readonly<Record<string, number>>;
  /** Query outcomes (forwarded, cached, blocked, ...) in the bucket, when asked for; dropped events are not one. */
  readonly outcomes?: Readonly<Record<string, number>>;
}

export interface Timeseries {
  readonly range: TimeseriesRange;
  readonly bucketMs: number;
  /** Start of the first bucket (inclusive) and end of the last (exclusive); the last holds now. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Every list with a count in the range, most attempts first. */
  readonly lists: readonly string[];
  /** Every bucket of the range, oldest first, zeros filled. */
  readonly buckets: readonly TimeseriesBucket[];
}

export interface OverviewCounts {
  readonly sinceMs: number;
  /** Incidents not resolved, by state and severity. */
  readonly incidents: readonly { readonly state: string; readonly severity: string; readonly count: number }[];
  /** Hosts with a blocked or alerted query since sinceMs. */
  readonly hostsAffected: number;
  /** The most queried blocked names since sinceMs, with the list of each one's latest event. */
  readonly topNames: readonly { readonly name: string; readonly count: number; readonly list: string | null }[];
  /** Query outcomes since sinceMs (its first minute counted whole). */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly droppedEvents: number;
}

interface BucketRow {
  bucket: number;
  key: string;
  count: number;
}

// Numbers are bound as REAL: the bucket index is cast back to an integer (values are never negative).
export function prepareDashboardStatements(db: SqliteDatabase) {
  return {
    listBuckets: db.prepare<{ fromMs: number; toMs: number; bucketMs: number }, BucketRow>(
      `SELECT CAST((hour_ms - @fromMs) / @bucketMs AS INTEGER) AS bucket, list AS key, sum(count) AS count FROM list_hours
       WHERE hour_ms >= @fromMs AND hour_ms < @toMs GROUP BY bucket, list`,
    ),
    outcomeBuckets: db.prepare<{ fromMs: number; toMs: number; bucketMs: number }, BucketRow>(
      `SELECT CAST((hour_ms - @fromMs) / @bucketMs AS INTEGER) AS bucket, outcome AS key, sum(count) AS count FROM outcome_hours
       WHERE hour_ms >= @fromMs AND hour_ms < @toMs GROUP BY bucket, outcome`,
    ),
    activeIncidents: db.prepare<[], { state: string; severity: string; count: number }>(
      `SELECT state, severity, count(*) AS count FROM incidents WHERE state != 'resolved'
       GROUP BY state, severity ORDER BY state, severity`,
    ),
    hostsSince: db.prepare<[number], { n: number }>(
      'SELECT count(*) AS n FROM hosts INDEXED BY hosts_last_seen WHERE last_seen_ms >= ?',
    ),
    latestList: db.prepare<[string], { list: string }>(
      'SELECT list FROM events INDEXED BY events_rname_time WHERE rname = ? ORDER BY time_ms DESC LIMIT 1',
    ),
  };
}

export type DashboardStatements = ReturnType<typeof prepareDashboardStatements>;

function emptyCounts(): Record<string, number> {
  return {};
}

/** The range's buckets ending with the one that holds nowMs. */
export function timeseriesWindow(
  range: TimeseriesRange,
  nowMs: number,
): { bucketMs: number; fromMs: number; toMs: number; buckets: number } {
  const { bucketMs, buckets } = RANGE_BUCKETS[range];
  const toMs = (Math.floor(nowMs / bucketMs) + 1) * bucketMs;
  return { bucketMs, fromMs: toMs - buckets * bucketMs, toMs, buckets };
}

/**
 * `withOutcomes` adds outcome_hours' counts (buckets are whole hours, so they equal the minutes'):
 * 30 days read about 5,000 rows; the lists' series read at most a few thousand hourly rows.
 */
export function queryTimeseries(
  statements: DashboardStatements,
  range: TimeseriesRange,
  nowMs: number,
  withOutcomes: boolean,
): Timeseries {
  const window = timeseriesWindow(range, nowMs);
  const params = { fromMs: window.fromMs, toMs: window.toMs, bucketMs: window.bucketMs };
  const byList = Array.from({ length: window.buckets }, emptyCounts);
  const outcomes = Array.from({ length: window.buckets }, emptyCounts);
  const totals = new Array<number>(window.buckets).fill(0);
  const listTotals = new Map<string, number>();
  for (const row of statements.listBuckets.all(params)) {
    const counts = byList[row.bucket];
    if (counts === undefined) continue;
    counts[row.key] = row.count;
    totals[row.bucket] = (totals[row.bucket] ?? 0) + row.count;
    listTotals.set(row.key, (listTotals.get(row.key) ?? 0) + row.count);
  }
  const outcomeRows = withOutcomes ? statements.outcomeBuckets.all(params) : [];
  for (const row of outcomeRows) {
    const counts = outcomes[row.bucket];
    if (counts !== undefined && row.key !== EVENTS_DROPPED_OUTCOME) counts[row.key] = row.count;
  }
  const lists = [...listTotals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([list]) => list);
  return {
    range,
    bucketMs: window.bucketMs,
    fromMs: window.fromMs,
    toMs: window.toMs,
    lists,
    buckets: byList.map((counts, i) => ({
      startMs: window.fromMs + i * window.bucketMs,
      total: totals[i] ?? 0,
      byList: counts,
      ...(withOutcomes ? { outcomes: outcomes[i] ?? {} } : {}),
    })),
  };
}

export function queryOverview(
  statements: DashboardStatements,
  stats: StatsStatements,
  options: { readonly sinceMs: number; readonly topLimit: number; readonly edgeScanMaxEvents: number },
): OverviewCounts {
  const top = queryTopDomains(stats, options.sinceMs, options.topLimit, options.edgeScanMaxEvents);
  const { outcomes, droppedEvents } = outcomesSince(stats.outcomes, options.sinceMs);
  return {
    sinceMs: options.sinceMs,
    incidents: statements.activeIncidents.all(),
    hostsAffected: statements.hostsSince.get(options.sinceMs)?.n ?? 0,
    topNames: top.map((row) => ({
      name: row.domain,
      count: row.count,
      list: statements.latestList.get(reverseName(row.domain))?.list ?? null,
    })),
    outcomes,
    droppedEvents,
  };
}
