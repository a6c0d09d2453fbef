/**
 * What the admin API reads when `dns.workers` > 1: the same views as over the single process's
 * resolver, cache, upstream pool and rate-limit gate, but summed over every worker. `refresh()`
 * asks each worker for its numbers (request/response over IPC, bounded by a timeout) before each
 * admin request, so a scrape sees counts as of now, not as of a periodic copy.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { DomainMatcher } from '../blocklist/matcher.js';
import type { ResolverView, UpstreamView } from '../admin/metrics.js';
import type { UpstreamStats } from '../upstream/pool.js';
import type { WorkerPool } from './primary.js';
import { sumHistograms, sumSnapshots, type ClusterTotals, type WorkerSnapshot } from './snapshot.js';

export interface ClusterViews {
  readonly resolver: ResolverView;
  readonly cache: { readonly size: number };
  readonly upstream: UpstreamView;
  readonly rateLimit:
    | {
        readonly counters: Readonly<{ refused: number; dropped: number }>;
        readonly limiter: { readonly clients: number };
      }
    | undefined;
  /** The latest snapshot of each worker (GET /stats shows them per worker). */
  readonly snapshots: () => readonly WorkerSnapshot[];
  refresh(): Promise<void>;
  extraMetrics(): Registry;
}

/** poolsink_worker_*: which worker answered how much, and what each costs in memory. */
function perWorkerMetrics(snapshots: readonly WorkerSnapshot[]): Registry {
  const registry = new Registry();
  const queries = new Counter({
    name: 'poolsink_worker_queries_total',
    help: 'DNS queries received by each resolver worker (dns.workers > 1)',
    labelNames: ['worker'],
    registers: [registry],
  });
  const rss = new Gauge({
    name: 'poolsink_worker_resident_memory_bytes',
    help: 'Resident memory of each resolver worker process',
    labelNames: ['worker'],
    registers: [registry],
  });
  for (const snapshot of snapshots) {
    const worker = String(snapshot.workerId);
    queries.inc({ worker }, snapshot.countersByProtocol.udp.queries + snapshot.countersByProtocol.tcp.queries);
    rss.set({ worker }, snapshot.rssBytes);
  }
  return registry;
}

const ZERO_STATS: UpstreamStats = { sent: 0, answered: 0, timeouts: 0, mismatched: 0, tcpRetries: 0, errors: 0 };

export function createClusterViews(options: {
  pool: Pick<WorkerPool, 'snapshot'>;
  matcher: () => DomainMatcher;
  rateLimited: boolean;
}): ClusterViews {
  const { pool, matcher } = options;
  let snapshots: readonly WorkerSnapshot[] = [];
  let totals: ClusterTotals = sumSnapshots([], ZERO_STATS);
  return {
    resolver: {
      get counters() {
        return totals.counters;
      },
      get countersByProtocol() {
        return totals.countersByProtocol;
      },
      get matcher() {
        return matcher();
      },
      get pending() {
        return totals.pending;
      },
    },
    cache: {
      get size() {
        return totals.cacheEntries;
      },
    },
    upstream: {
      get stats() {
        return totals.upstreamStats;
      },
      health: () => totals.upstreamHealth,
    },
    rateLimit: options.rateLimited
      ? {
          get counters() {
            return totals.rateLimit;
          },
          limiter: {
            get clients() {
              return totals.rateLimit.clients;
            },
          },
        }
      : undefined,
    snapshots: () => snapshots,
    // Each request asks anew: a round already under way may have asked before this request's
    // caller saw its last answer.
    async refresh() {
      const fresh = await pool.snapshot();
      snapshots = fresh;
      totals = sumSnapshots(fresh, ZERO_STATS);
    },
    extraMetrics: () => Registry.merge([sumHistograms(snapshots), perWorkerMetrics(snapshots)]),
  };
}
