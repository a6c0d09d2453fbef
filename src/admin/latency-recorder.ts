/**
 * The two latency histograms fed while serving: observed once per forwarded answer or upstream
 * exchange (about 1 µs each); everything else in /metrics is read at scrape time (metrics.ts).
 */
import { Histogram, type Registry } from 'prom-client';

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
  const answer = new Histogram<'outcome'>({
    name: 'poolsink_dns_answer_duration_seconds',
    help: 'Time from receiving a forwarded query to answering it, by outcome',
    labelNames: ['outcome'],
    buckets: [...LATENCY_BUCKETS_SEC],
    registers: [],
  });
  const upstream = new Histogram<'upstream'>({
    name: 'poolsink_upstream_rtt_seconds',
    help: 'Round-trip time of upstream exchanges that produced an answer, by upstream',
    labelNames: ['upstream'],
    buckets: [...LATENCY_BUCKETS_SEC],
    registers: [],
  });
  // Label objects built once, so an observation allocates nothing.
  const outcomeLabels = new Map(FORWARDED_OUTCOMES.map((outcome) => [outcome, { outcome }]));
  const upstreamLabels = new Map<string, { upstream: string }>();
  for (const outcome of FORWARDED_OUTCOMES) answer.zero({ outcome });
  return {
    observeAnswer(seconds, outcome) {
      const labels = outcomeLabels.get(outcome);
      if (labels !== undefined && seconds >= 0 && Number.isFinite(seconds)) answer.observe(labels, seconds);
    },
    observeUpstream(name, seconds) {
      if (!(seconds >= 0 && Number.isFinite(seconds))) return;
      let labels = upstreamLabels.get(name);
      if (labels === undefined) {
        labels = { upstream: name };
        upstreamLabels.set(name, labels);
      }
      upstream.observe(labels, seconds);
    },
    register(registry) {
      registry.registerMetric(answer);
      registry.registerMetric(upstream);
    },
  };
}

/** What the metrics read from the resolver; a Resolver satisfies it. */
