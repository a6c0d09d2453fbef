/**
 * A Prometheus histogram with one label whose observations cost a bucket search and three
 * typed-array writes: each label value's series is looked up once by the caller and kept, and the
 * buckets are turned into prom-client's histogram format only at scrape time. prom-client's own
 * `observe(labels, value)` validates the label object and hashes it into a string on every call.
 *
 * prom-client renders a metric through `getForPromString()` (and `get()`, which calls it); this
 * class replaces that method, so it stays a `Histogram` for the registry and its types.
 */
import { Histogram } from 'prom-client';

/** One label value's buckets; from `series()`, handed to `observe` on the hot path. */
export interface HistogramSeries {
  readonly labelValue: string;
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
}

export class BucketHistogram extends Histogram<string> {
  readonly #name: string;
  readonly #help: string;
  readonly #labelName: string;
  readonly #bounds: Float64Array;
  readonly #series = new Map<string, HistogramSeries>();

  constructor(config: { name: string; help: string; labelName: string; buckets: readonly number[] }) {
    super({
      name: config.name,
      help: config.help,
      labelNames: [config.labelName],
      buckets: [...config.buckets],
      registers: [],
    });
    this.#name = config.name;
    this.#help = config.help;
    this.#labelName = config.labelName;
    this.#bounds = Float64Array.from(config.buckets);
  }

  /** The series of one label value, created (at zero) on first use. */
  series(labelValue: string): HistogramSeries {
    let series = this.#series.get(labelValue);
    if (series === undefined) {
      series = { labelValue, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(labelValue, series);
    }
    return series;
  }

  /** Counts `value` (finite, >= 0: the caller checks) into `series`. */
  observeIn(series: HistogramSeries, value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  /** What prom-client's registry renders (its histogram format: cumulative buckets, +Inf, sum, count). */
  async getForPromString() {
    const values: ExportedValue[] = [];
    const bucketName = `${this.#name}_bucket`;
    for (const series of this.#series.values()) {
      const label = series.labelValue;
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push(this.#value(bucketName, { le: this.#bounds[i]!, [this.#labelName]: label }, cumulative));
      }
      values.push(this.#value(bucketName, { le: '+Inf', [this.#labelName]: label }, series.count));
      values.push(this.#value(`${this.#name}_sum`, { [this.#labelName]: label }, series.sum));
      values.push(this.#value(`${this.#name}_count`, { [this.#labelName]: label }, series.count));
    }
    return { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: 'sum' };
  }

  #value(metricName: string, labels: Record<string, string | number>, value: number): ExportedValue {
    return { labels, sharedLabels: {}, value, metricName };
  }
}
