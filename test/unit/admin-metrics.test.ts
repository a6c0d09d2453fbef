import { describe, expect, test } from 'vitest';
import {
  createLatencyRecorder,
  createMetrics,
  type ListMetricsView,
  type MetricsSources,
} from '../../src/admin/metrics.js';
import { createMatcher } from '../../src/blocklist/matcher.js';
import { zeroCounters, type ResolverCounters } from '../../src/dns/resolver-counters.js';
import type { EventWriterStats } from '../../src/store/types.js';
import type { UpstreamStats } from '../../src/upstream/pool.js';

function counters(overrides: Partial<ResolverCounters> = {}): ResolverCounters {
  return {
    ...zeroCounters(),
    ...overrides,
  };
}

function sources(overrides: Partial<MetricsSources> = {}) {
  const resolverCounters = counters({ queries: 10, blocked: 3, cached: 3, forwarded: 4, coalesced: 1 });
  const writer: { stats: EventWriterStats } = {
    stats: { buffered: 7, written: 100, dropped: 2, writeErrors: 1, healthy: false, lastError: 'disk full' },
  };
  const upstreamStats: UpstreamStats = { sent: 5, answered: 4, timeouts: 1, mismatched: 0, tcpRetries: 0, errors: 0 };
  const matcher = createMatcher(
    [
      { name: 'pools', domains: ['pool.example', 'minexmr.test'], wildcards: [] },
      { name: 'trial', mode: 'alert', domains: ['trial.example'], wildcards: ['wild.example'] },
    ],
    ['good.pool.example'],
  );
  const base: MetricsSources = {
    resolver: { counters: resolverCounters, matcher, pending: 2 },
    cache: { size: 42 },
    upstream: {
      stats: upstreamStats,
      health: () => [
        { upstream: '127.0.0.1:5300', consecutiveFailures: 0 },
        { upstream: '[::1]:5300', consecutiveFailures: 3, failures: { timeout: 3, servfail: 1 } },
      ],
    },
    eventWriter: writer,
    clock: () => 1_000_000,
  };
  return { ...base, ...overrides };
}

describe('createMetrics', () => {
  test('reads live counters at scrape time', async () => {
    const live = counters({ queries: 10, blocked: 3, cached: 3, forwarded: 4, coalesced: 1 });
    const base = sources();
    const { registry } = createMetrics({ ...base, resolver: { ...base.resolver, counters: live } });
    const first = await registry.metrics();
    expect(first).toContain('poolsink_dns_queries_total{protocol="all"} 10');
    expect(first).toContain('poolsink_dns_query_outcomes_total{outcome="blocked",protocol="all"} 3');
    expect(first).toContain('poolsink_dns_pending_queries 2');
    expect(first).toContain('poolsink_cache_entries 42');
    expect(first).toContain('poolsink_cache_lookups_total{result="hit"} 3');
    expect(first).toContain('poolsink_cache_lookups_total{result="miss"} 5');
    expect(first).toContain('poolsink_cache_hit_ratio 0.375');
    expect(first).toContain('poolsink_upstream_messages_total{kind="timeouts"} 1');
    expect(first).toContain('poolsink_upstream_healthy{upstream="127.0.0.1:5300"} 1');
    expect(first).toContain('poolsink_upstream_healthy{upstream="[::1]:5300"} 0');
    expect(first).toContain('poolsink_upstream_failures_total{upstream="[::1]:5300",reason="timeout"} 3');
    expect(first).toContain('poolsink_list_entries{list="pools",mode="block"} 2');
    expect(first).toContain('poolsink_list_entries{list="trial",mode="alert"} 2');
    expect(first).toContain('poolsink_allowlist_entries 1');
    expect(first).toContain('poolsink_events_buffered 7');
    expect(first).toContain('poolsink_events_dropped_total 2');
    expect(first).toContain('poolsink_event_writer_healthy 0');
    expect(first).toContain('# TYPE poolsink_events_dropped_total counter');
    expect(first).not.toContain('poolsink_list_fetch_error'); // no list manager

    live.queries = 25;
    expect(await registry.metrics()).toContain('poolsink_dns_queries_total{protocol="all"} 25');
  });

  test('splits by protocol when the resolver does; list state from the list manager', async () => {
    const lists: ListMetricsView[] = [
      { name: 'pools', mode: 'block', entries: 1200, lastChangeMs: 1_000_000 - 90_000, fetchFailures: 0 },
      { name: 'feed', mode: 'block', entries: 0, lastError: 'HTTP 500', fetchFailures: 4 },
    ];
    const base = sources();
    const { registry } = createMetrics({
      ...base,
      resolver: {
        ...base.resolver,
        countersByProtocol: { udp: counters({ queries: 8, blocked: 2 }), tcp: counters({ queries: 2, blocked: 1 }) },
      },
      lists: { lists: () => lists },
    });
    const text = await registry.metrics();
    expect(text).toContain('poolsink_dns_queries_total{protocol="udp"} 8');
    expect(text).toContain('poolsink_dns_query_outcomes_total{outcome="blocked",protocol="tcp"} 1');
    expect(text).not.toContain('protocol="all"');
    expect(text).toContain('poolsink_list_entries{list="pools",mode="block"} 1200');
    expect(text).toContain('poolsink_list_fetch_error{list="feed"} 1');
    expect(text).toContain('poolsink_list_fetch_failures_total{list="feed"} 4');
    expect(text).toContain('poolsink_list_seconds_since_change{list="pools"} 90');
    expect(text).not.toContain('poolsink_list_seconds_since_change{list="feed"}');
  });

  test('latency histograms are observed by the resolver and pool, exposed by the registry', async () => {
    const latency = createLatencyRecorder();
    const { registry } = createMetrics({ ...sources(), latency });
    latency.observeAnswer(0.003, 'answered');
    latency.observeAnswer(0.2, 'servfail');
    latency.observeAnswer(Number.NaN, 'answered');
    latency.observeAnswer(-1, 'answered');
    latency.observeUpstream('127.0.0.1:5300', 0.0007);
    const text = await registry.metrics();
    expect(text).toContain('poolsink_dns_answer_duration_seconds_bucket{le="0.005",outcome="answered"} 1');
    expect(text).toContain('poolsink_dns_answer_duration_seconds_count{outcome="answered"} 1');
    expect(text).toContain('poolsink_dns_answer_duration_seconds_count{outcome="servfail"} 1');
    expect(text).toContain('poolsink_dns_answer_duration_seconds_count{outcome="stale"} 0');
    expect(text).toContain('poolsink_upstream_rtt_seconds_bucket{le="0.001",upstream="127.0.0.1:5300"} 1');
  });

  test('each instance has its own registry', async () => {
    const a = createMetrics(sources({ cache: { size: 1 } }));
    const b = createMetrics(sources({ cache: { size: 2 } }));
    expect(await a.registry.metrics()).toContain('poolsink_cache_entries 1');
    expect(await b.registry.metrics()).toContain('poolsink_cache_entries 2');
  });
});
