/**
 * A Prometheus counter or gauge whose values are read from live state at scrape time, so the
 * query path pays nothing for it. Shared by metrics.ts and notify-metrics.ts.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Counters and gauges whose values are read at scrape time. */
export function scraped<T extends string>(
  kind: 'counter' | 'gauge',
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly T[],
  read: (set: (labels: Partial<Record<T, string>>, value: number) => void) => void,
): void {
  if (kind === 'counter') {
    const counter: Counter<T> = new Counter<T>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        counter.reset();
        read((labels, value) => counter.inc(labels, value));
      },
    });
    return;
  }
  const gauge: Gauge<T> = new Gauge<T>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      gauge.reset();
      read((labels, value) => gauge.set(labels, value));
    },
  });
}
