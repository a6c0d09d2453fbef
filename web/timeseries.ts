/**
 * Blocked attempts over time for the overview chart, from GET /api/v1/timeseries
 * (docs/dashboard-api.md): every bucket of the range, oldest first, one chart series per list.
 */
import { api } from './api.js';
import type { ChartSeries } from './components/chart.js';

export const RANGES = ['24h', '7d', '30d'] as const;
export type Range = (typeof RANGES)[number];

export interface Timeseries {
  readonly range: string;
  readonly bucketSeconds: number;
  readonly lists: readonly string[];
  readonly buckets: readonly {
    readonly start: string;
    readonly total: number;
    readonly byList: Readonly<Record<string, number>>;
  }[];
}

export interface ChartData {
  readonly times: readonly number[];
  readonly series: readonly ChartSeries[];
}

export async function loadTimeseries(range: Range): Promise<ChartData> {
  return toChartData(await api<Timeseries>(`/api/v1/timeseries?range=${range}`));
}

/** Bucket starts in seconds; a series per list (most attempts first, at the bottom of the stack). */
export function toChartData(timeseries: Timeseries): ChartData {
  return {
    times: timeseries.buckets.map((b) => Date.parse(b.start) / 1000),
    series: timeseries.lists.map((list) => ({
      label: list,
      values: timeseries.buckets.map((b) => b.byList[list] ?? 0),
    })),
  };
}
