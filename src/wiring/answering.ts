/**
 * Who answers queries. dns.workers 1: this process, on listeners of its own, with the core built
 * by main.ts. More: resolver processes with cores of their own (src/cluster/); the core here is
 * then the primary's own, idle but for its upstream pool (reverse DNS), and the admin API reads
 * the workers' sums through cluster views.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { ListManager } from '../blocklist/list-manager.js';
import type { BlockEventSink } from '../dns/block-event.js';
import { createClusterViews, type ClusterViews } from '../cluster/admin-views.js';
import { startWorkerPool, workerCount, type WorkerPool } from '../cluster/primary.js';
import { startDnsListeners, type DnsCore } from '../dns-serving.js';
import type { HostPort } from '../net/address.js';
import type { IpSources } from '../pool-ips/ip-sources.js';
import type { HistoryBatch } from '../store/history-protocol.js';
import type { HistoryRecorder } from '../store/history-recorder.js';
import { shipOutcomes } from '../store/outcome-shipping.js';
import type { WriterThread } from '../store/writer-thread.js';
import type { StartedResources } from '../started-resources.js';

export interface Answering {
  /** Bound addresses, in listen order. */
  readonly udp: readonly HostPort[];
  readonly tcp: readonly HostPort[];
  /** Stops accepting and answers what is in flight (bounded wait). */
  drain(): Promise<void>;
  /** dns.workers > 1: the resolver processes and the admin API's views of them. */
  readonly workers: WorkerPool | undefined;
  readonly views: ClusterViews | undefined;
}

export async function startAnswering(
  config: Config,
  parts: {
    core: DnsCore;
    lists: ListManager;
    ipSources: IpSources;
    events: BlockEventSink;
    writer: WriterThread;
    history: HistoryRecorder | undefined;
    log: Logger;
    resources: StartedResources;
    /** Called as soon as the workers run, before anything can swap lists: from then on swaps reach them. */
    onWorkers: (pool: WorkerPool) => void;
    /** The configuration in effect at drain time (a reload may have changed it). */
    currentConfig: () => Config;
  },
): Promise<Answering> {
  const { core, lists, ipSources, writer, history, log, resources } = parts;
  const { resolver, rateLimit } = core;
  const workers = workerCount(config.dns.workers);
  if (workers > 1) {
    // Each worker ships its outcome counts itself (cluster/worker.ts).
    const matcherAtFork = lists.matcher;
    const ipListsAtFork = ipSources.blocklist;
    const pool = await startWorkerPool({
      config,
      count: workers,
      matcher: lists.matcher,
      log,
      events: parts.events,
      addOutcomes: (deltas) => writer.addOutcomes(deltas),
      ipLists: ipSources.inputs,
      ...(history !== undefined ? { recordHistory: (batch: HistoryBatch) => writer.recordHistory(batch) } : {}),
    });
    resources.add('resolver workers', () => pool.close());
    parts.onWorkers(pool);
    // A list swap while the workers were forking reached no worker: send what is current now.
    if (lists.matcher !== matcherAtFork) pool.setMatcher(lists.matcher);
    if (ipSources.blocklist !== ipListsAtFork) pool.setIpLists(ipSources.inputs);
    const views = createClusterViews({ pool, matcher: () => resolver.matcher, rateLimited: rateLimit !== undefined });
    return { udp: pool.udp, tcp: pool.tcp, drain: () => pool.close(), workers: pool, views };
  }
  // Query outcome counts go to the database every few seconds, and once more when the listeners
  // have closed (so the last counts are final).
  const stopOutcomes = shipOutcomes(
    () => resolver.counters,
    (deltas) => writer.addOutcomes(deltas),
  );
  resources.add('outcome counts', stopOutcomes);
  const listeners = await startDnsListeners({ config, core, log, resources });
  return {
    udp: listeners.udp,
    tcp: listeners.tcp,
    drain: () => listeners.drain(parts.currentConfig()),
    workers: undefined,
    views: undefined,
  };
}
