/**
 * The two latency histograms fed while serving: observed once per forwarded answer or upstream
 * exchange into typed-array buckets (bucket-histogram.ts), rendered at scrape time like
 * everything else in /metrics (metrics.ts).
 */
import type { Registry } from 'prom-client';
import { BucketHistogram } from './bucket-histogram.js';

/** How a forwarded query ended for one client. */
export type ForwardedOutcome = 'answered' | 'stale' | 'servfail' | 'blocked';
const FORWARDED_OUTCOMES: readonly ForwardedOutcome[] = ['answered', 'stale', 'servfail', 'blocked'];

/** Seconds; from 0.5 ms (a LAN upstream) to 5 s (several upstream timeouts in a row). */
export const LATENCY_BUCKETS_SEC: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/**
 * The push side of the metrics, created before the resolver and the upstream pool so they can be
 * handed its methods; `createMetrics` registers its histograms.
 */
export interface LatencyRecorder {
  /** Time from a forwarded query's arrival to its answer, once per client answered. */
  observeAnswer(seconds: number, outcome: ForwardedOutcome): void;
  /** Round trip of one upstream exchange that produced an answer (UDP, or the TCP retry). */
  observeUpstream(upstream: string, seconds: number): void;
  register(registry: Registry): void;
}

export function createLatencyRecorder(): LatencyRecorder {
  const answer = new BucketHistogram({
    name: 'poolsink_dns_answer_duration_seconds',
    help: 'Time from receiving a forwarded query to answering it, by outcome',
    labelName: 'outcome',
    buckets: LATENCY_BUCKETS_SEC,
  });
  const upstream = new BucketHistogram({
    name: 'poolsink_upstream_rtt_seconds',
    help: 'Round-trip time of upstream exchanges that produced an answer, by upstream',
    labelName: 'upstream',
    buckets: LATENCY_BUCKETS_SEC,
  });
  // Series looked up once per outcome, so an observation allocates nothing and builds no key.
  const outcomeSeries = new Map(FORWARDED_OUTCOMES.map((outcome) => [outcome, answer.series(outcome)]));
  return {
    observeAnswer(seconds, outcome) {
      const series = outcomeSeries.get(outcome);
      if (series !== undefined && seconds >= 0 && Number.isFinite(seconds)) answer.observeIn(series, seconds);
    },
    observeUpstream(name, seconds) {
      if (seconds >= 0 && Number.isFinite(seconds)) upstream.observeIn(upstream.series(name), seconds);
    },
    register(registry) {
      registry.registerMetric(answer);
      registry.registerMetric(upstream);
    },
  };
}

/** What the metrics read from the resolver; a Resolver satisfies it. */
