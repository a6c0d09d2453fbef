/**
 * Prometheus metrics for /metrics. Counters and gauges are collectors that read the live counters
 * of the resolver, cache, upstream pool, event writer and lists at scrape time, so the query path
 * pays nothing for them. The only metrics fed while serving are the two latency histograms
 * (LatencyRecorder), observed once per forwarded answer or upstream exchange into typed-array
 * buckets (bucket-histogram.ts): a bucket search and three writes each.
 *
 * Every instance has its own Registry; nothing is registered globally.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Protocol } from '../dns/block-event.js';
import type { ResolverCounters } from '../dns/resolver-counters.js';
import type { DomainMatcher } from '../blocklist/matcher.js';
import type { EventWriterStats } from '../store/types.js';
import type { UpstreamFailure, UpstreamStats } from '../upstream/pool.js';
import { UNHEALTHY_AFTER_FAILURES } from '../upstream/health.js';
import { registerNotifyMetrics, type NotifyMetricsSource } from './notify-metrics.js';
import { registerHoneypotMetrics, type HoneypotMetricsSource } from './honeypot-metrics.js';
import { scraped } from './scraped-metric.js';
import type { LatencyRecorder } from './latency-recorder.js';

export { createLatencyRecorder, type ForwardedOutcome, type LatencyRecorder } from './latency-recorder.js';

export interface ResolverView {
  readonly counters: Readonly<ResolverCounters>;
  /** The same counters split by transport, once the resolver keeps them (else protocol="all"). */
  readonly countersByProtocol?: Readonly<Record<Protocol, Readonly<ResolverCounters>>>;
  readonly matcher: DomainMatcher;
  readonly pending: number;
}

/** One upstream's state; UpstreamPool.health() entries satisfy it. */
export interface UpstreamHealthView {
  readonly upstream: string;
  readonly consecutiveFailures: number;
  /** Failed attempts by reason, once the pool counts them per upstream. */
  readonly failures?: Readonly<Partial<Record<UpstreamFailure, number>>>;
}

export interface UpstreamView {
  readonly stats: Readonly<UpstreamStats>;
  health(): readonly UpstreamHealthView[];
}

/** One list's state; ListManagement.lists() entries satisfy it. */
export interface ListMetricsView {
  readonly name: string;
  readonly mode: 'block' | 'alert';
  readonly entries: number;
  readonly lastChangeMs?: number;
  readonly lastError?: string;
  /** Failed fetches or reads since start, once the list manager counts them. */
  readonly fetchFailures?: number;
}

export interface MetricsSources {
  readonly resolver: ResolverView;
  readonly cache: { readonly size: number };
  readonly upstream: UpstreamView;
  readonly eventWriter: { readonly stats: EventWriterStats };
  /** The list manager; without it entries per list come from the matcher and fetch metrics are absent. */
  readonly lists?: { lists(): readonly ListMetricsView[] };
  readonly latency?: LatencyRecorder;
  readonly clock?: () => number;
  /** Adds prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC). */
  readonly processMetrics?: boolean;
  /** Blocked and alerted queries per list (dns/list-matches.ts); without it poolsink_list_matches_total is absent. */
  readonly listMatches?: { counts(): ReadonlyMap<string, Readonly<{ blocked: number; alerted: number }>> };
  /** Notification sinks (poolsink_notify_*). */
  readonly notify?: NotifyMetricsSource;
  /** The stratum honeypot, when on (poolsink_honeypot_*). */
  readonly honeypot?: HoneypotMetricsSource;
  /** The per-client rate limit gate, when on: queries over the limit never reach the resolver. */
  readonly rateLimit?: {
    readonly counters: Readonly<{ refused: number; dropped: number }>;
    readonly limiter: { readonly clients: number };
  };
}

const OUTCOMES: readonly Exclude<keyof ResolverCounters, 'queries'>[] = [
  'blocked',
  'alerted',
  'cached',
  'forwarded',
  'coalesced',
  'stale',
  'refused',
  'servfail',
  'formerr',
  'notimp',
  'dropped',
  'truncated',
  'cloaked',
];
const UPSTREAM_STATS: readonly (keyof UpstreamStats)[] = [
  'sent',
  'answered',
  'timeouts',
  'mismatched',
  'tcpRetries',
  'errors',
];

function protocolCounters(resolver: ResolverView): readonly (readonly [string, Readonly<ResolverCounters>])[] {
  const split = resolver.countersByProtocol;
  return split === undefined
    ? [['all', resolver.counters]]
    : [
        ['udp', split.udp],
        ['tcp', split.tcp],
      ];
}

export interface Metrics {
  readonly registry: Registry;
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  const clock = sources.clock ?? Date.now;
  const { resolver, upstream, eventWriter } = sources;

  scraped(
    'counter',
    registry,
    'poolsink_dns_queries_total',
    'DNS queries received, by transport',
    ['protocol'],
    (set) => {
      for (const [protocol, counters] of protocolCounters(resolver)) set({ protocol }, counters.queries);
    },
  );
  scraped(
    'counter',
    registry,
    'poolsink_dns_query_outcomes_total',
    'DNS query outcomes by transport. Not exclusive: alerted queries are also cached or forwarded, ' +
      'forwarded and coalesced ones end as answers, stale or servfail, cloaked ones are also blocked, truncated is a modifier',
    ['outcome', 'protocol'],
    (set) => {
      for (const [protocol, counters] of protocolCounters(resolver)) {
        for (const outcome of OUTCOMES) set({ outcome, protocol }, counters[outcome]);
      }
    },
  );
  scraped('gauge', registry, 'poolsink_dns_pending_queries', 'Queries waiting on an upstream', [], (set) =>
    set({}, resolver.pending),
  );
  const { rateLimit } = sources;
  if (rateLimit !== undefined) {
    scraped(
      'counter',
      registry,
      'poolsink_dns_rate_limited_total',
      "Queries over their client's rate limit, by action taken",
      ['action'],
      (set) => {
        set({ action: 'refused' }, rateLimit.counters.refused);
        set({ action: 'dropped' }, rateLimit.counters.dropped);
      },
    );
    scraped('gauge', registry, 'poolsink_dns_rate_limit_clients', 'Clients with a rate-limit bucket', [], (set) =>
      set({}, rateLimit.limiter.clients),
    );
  }

  scraped('gauge', registry, 'poolsink_cache_entries', 'Answers in the cache', [], (set) =>
    set({}, sources.cache.size),
  );
  scraped(
    'counter',
    registry,
    'poolsink_cache_lookups_total',
    'Cache lookups by result (miss: forwarded or coalesced)',
    ['result'],
    (set) => {
      const c = resolver.counters;
      set({ result: 'hit' }, c.cached);
      set({ result: 'miss' }, c.forwarded + c.coalesced);
    },
  );
  scraped('gauge', registry, 'poolsink_cache_hit_ratio', 'Cache hits over lookups since start', [], (set) => {
    const c = resolver.counters;
    const lookups = c.cached + c.forwarded + c.coalesced;
    set({}, lookups === 0 ? 0 : c.cached / lookups);
  });

  scraped(
    'counter',
    registry,
    'poolsink_upstream_messages_total',
    'Upstream pool totals over all upstreams, by kind',
    ['kind'],
    (set) => {
      for (const kind of UPSTREAM_STATS) set({ kind }, upstream.stats[kind]);
    },
  );
  scraped(
    'gauge',
    registry,
    'poolsink_upstream_healthy',
    '1 while the upstream is tried in configuration order, 0 while demoted',
    ['upstream'],
    (set) => {
      for (const u of upstream.health())
        set({ upstream: u.upstream }, u.consecutiveFailures < UNHEALTHY_AFTER_FAILURES ? 1 : 0);
    },
  );
  scraped(
    'gauge',
    registry,
    'poolsink_upstream_consecutive_failures',
    'Failed attempts in a row',
    ['upstream'],
    (set) => {
      for (const u of upstream.health()) set({ upstream: u.upstream }, u.consecutiveFailures);
    },
  );
  scraped(
    'counter',
    registry,
    'poolsink_upstream_failures_total',
    'Failed upstream attempts by upstream and reason',
    ['upstream', 'reason'],
    (set) => {
      for (const u of upstream.health()) {
        for (const [reason, count] of Object.entries(u.failures ?? {})) set({ upstream: u.upstream, reason }, count);
      }
    },
  );

  scraped('gauge', registry, 'poolsink_list_entries', 'Entries loaded per blocklist', ['list', 'mode'], (set) => {
    const lists = sources.lists?.lists() ?? resolver.matcher.lists;
    for (const list of lists) set({ list: list.name, mode: list.mode }, list.entries);
  });
  const { listMatches } = sources;
  if (listMatches !== undefined) {
    scraped(
      'counter',
      registry,
      'poolsink_list_matches_total',
      'Blocked and alerted queries per list, by action',
      ['list', 'action'],
      (set) => {
        for (const [list, counts] of listMatches.counts()) {
          set({ list, action: 'blocked' }, counts.blocked);
          set({ list, action: 'alerted' }, counts.alerted);
        }
      },
    );
  }
  scraped('gauge', registry, 'poolsink_blocked_domains', 'Distinct blocked names over all lists', [], (set) =>
    set({}, resolver.matcher.size),
  );
  scraped('gauge', registry, 'poolsink_allowlist_entries', 'Allowlist entries', [], (set) =>
    set({}, resolver.matcher.allowlistSize),
  );
  if (sources.lists !== undefined) {
    const lists = sources.lists;
    scraped(
      'gauge',
      registry,
      'poolsink_list_fetch_error',
      '1 while the last fetch or read of the list failed',
      ['list'],
      (set) => {
        for (const list of lists.lists()) set({ list: list.name }, list.lastError === undefined ? 0 : 1);
      },
    );
    scraped(
      'counter',
      registry,
      'poolsink_list_fetch_failures_total',
      'Failed fetches or reads of the list since start',
      ['list'],
      (set) => {
        for (const list of lists.lists())
          if (list.fetchFailures !== undefined) set({ list: list.name }, list.fetchFailures);
      },
    );
    scraped(
      'gauge',
      registry,
      'poolsink_list_seconds_since_change',
      'Seconds since the list entries last changed',
      ['list'],
      (set) => {
        const now = clock();
        for (const list of lists.lists()) {
          if (list.lastChangeMs !== undefined) set({ list: list.name }, Math.max(0, (now - list.lastChangeMs) / 1000));
        }
      },
    );
  }

  scraped(
    'gauge',
    registry,
    'poolsink_events_buffered',
    'Block events waiting in memory for the next database write',
    [],
    (set) => set({}, eventWriter.stats.buffered),
  );
  scraped('counter', registry, 'poolsink_events_written_total', 'Block events written to the database', [], (set) =>
    set({}, eventWriter.stats.written),
  );
  scraped(
    'counter',
    registry,
    'poolsink_events_dropped_total',
    'Block events dropped because the buffer was full',
    [],
    (set) => set({}, eventWriter.stats.dropped),
  );
  scraped(
    'counter',
    registry,
    'poolsink_event_write_errors_total',
    'Failed database writes of block events',
    [],
    (set) => set({}, eventWriter.stats.writeErrors),
  );
  scraped('gauge', registry, 'poolsink_event_writer_healthy', '0 while the last database write failed', [], (set) =>
    set({}, eventWriter.stats.healthy ? 1 : 0),
  );

  if (sources.notify !== undefined) registerNotifyMetrics(registry, sources.notify);
  if (sources.honeypot !== undefined) registerHoneypotMetrics(registry, sources.honeypot);
  sources.latency?.register(registry);
  if (sources.processMetrics === true) collectDefaultMetrics({ register: registry });
  return { registry };
}
