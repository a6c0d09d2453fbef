/**
 * One resolver process's live numbers, taken when the primary asks (a scrape of /metrics, /stats,
 * the dashboard), and the sums the admin API reads: counters add up, upstream health merges per
 * upstream (failures add up, the worst consecutive-failure run is shown), histograms add up
 * bucket by bucket (prom-client's AggregatorRegistry, made for exactly this).
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { DnsCore } from '../dns-serving.js';
import type { Protocol } from '../dns/block-event.js';
import { sumCounters, zeroCounters, type ResolverCounters } from '../dns/resolver-counters.js';
import type { UpstreamHealth } from '../upstream/health.js';
import type { UpstreamStats } from '../upstream/pool.js';

export interface WorkerSnapshot {
  readonly workerId: number;
  readonly pid: number;
  readonly countersByProtocol: Readonly<Record<Protocol, Readonly<ResolverCounters>>>;
  readonly pending: number;
  readonly cacheEntries: number;
  readonly upstreamStats: Readonly<UpstreamStats>;
  readonly upstreamHealth: readonly UpstreamHealth[];
  readonly rateLimit: { readonly refused: number; readonly dropped: number; readonly clients: number } | undefined;
  /** The latency histograms, as prom-client's getMetricsAsJSON() gives them. */
  readonly histograms: Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
  /** Resident memory of the process, bytes. */
  readonly rssBytes: number;
}

export async function takeSnapshot(workerId: number, core: DnsCore, histograms: Registry): Promise<WorkerSnapshot> {
  const { resolver, cache, upstream, rateLimit } = core;
  return {
    workerId,
    pid: process.pid,
    countersByProtocol: { udp: { ...resolver.countersByProtocol.udp }, tcp: { ...resolver.countersByProtocol.tcp } },
    pending: resolver.pending,
    cacheEntries: cache.size,
    upstreamStats: { ...upstream.stats },
    upstreamHealth: upstream.health(),
    rateLimit:
      rateLimit === undefined
        ? undefined
        : {
            refused: rateLimit.counters.refused,
            dropped: rateLimit.counters.dropped,
            clients: rateLimit.limiter.clients,
          },
    histograms: await histograms.getMetricsAsJSON(),
    rssBytes: process.memoryUsage.rss(),
  };
}

export interface ClusterTotals {
  readonly counters: ResolverCounters;
  readonly countersByProtocol: Record<Protocol, ResolverCounters>;
  readonly pending: number;
  readonly cacheEntries: number;
  readonly upstreamStats: UpstreamStats;
  readonly upstreamHealth: UpstreamHealth[];
  readonly rateLimit: { refused: number; dropped: number; clients: number };
}

function addStats(total: UpstreamStats, next: Readonly<UpstreamStats>): void {
  for (const key of Object.keys(total) as (keyof UpstreamStats)[]) total[key] += next[key];
}

function mergeHealth(into: Map<string, UpstreamHealth>, entries: readonly UpstreamHealth[]): void {
  for (const entry of entries) {
    const seen = into.get(entry.upstream);
    if (seen === undefined) {
      into.set(entry.upstream, { ...entry, failures: { ...entry.failures } });
      continue;
    }
    const failures = { ...seen.failures };
    for (const reason of Object.keys(failures) as (keyof typeof failures)[]) failures[reason] += entry.failures[reason];
    const worse = entry.consecutiveFailures > seen.consecutiveFailures ? entry : seen;
    into.set(entry.upstream, {
      upstream: entry.upstream,
      consecutiveFailures: worse.consecutiveFailures,
      failures,
      ...(worse.lastError !== undefined ? { lastError: worse.lastError } : {}),
    });
  }
}

export function sumSnapshots(snapshots: readonly WorkerSnapshot[], zeroStats: UpstreamStats): ClusterTotals {
  let udp = zeroCounters();
  let tcp = zeroCounters();
  const upstreamStats = { ...zeroStats };
  const health = new Map<string, UpstreamHealth>();
  const rateLimit = { refused: 0, dropped: 0, clients: 0 };
  let pending = 0;
  let cacheEntries = 0;
  for (const snapshot of snapshots) {
    udp = sumCounters(udp, snapshot.countersByProtocol.udp);
    tcp = sumCounters(tcp, snapshot.countersByProtocol.tcp);
    pending += snapshot.pending;
    cacheEntries += snapshot.cacheEntries;
    addStats(upstreamStats, snapshot.upstreamStats);
    mergeHealth(health, snapshot.upstreamHealth);
    if (snapshot.rateLimit !== undefined) {
      rateLimit.refused += snapshot.rateLimit.refused;
      rateLimit.dropped += snapshot.rateLimit.dropped;
      rateLimit.clients += snapshot.rateLimit.clients;
    }
  }
  return {
    counters: sumCounters(udp, tcp),
    countersByProtocol: { udp, tcp },
    pending,
    cacheEntries,
    upstreamStats,
    upstreamHealth: [...health.values()],
    rateLimit,
  };
}

/** The workers' histograms added up bucket by bucket, as a registry to merge into /metrics. */
export function sumHistograms(snapshots: readonly WorkerSnapshot[]): Registry {
  return AggregatorRegistry.aggregate(snapshots.map((snapshot) => snapshot.histograms));
}
