/**
 * Pool IPs, put together for the composition root: the learner (when poolIps.learn), its SQLite
 * rows (read here, written by the writer thread) and the feed the API and CLI export. The learner
 * starts after the upstream pool and hands each learned set to the response-IP sources.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { ListManager } from '../blocklist/list-manager.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { StoreConnection } from '../store/database.js';
import { createPoolIpStore } from '../store/pool-ip-store.js';
import type { WriterThread } from '../store/writer-thread.js';
import { createPoolIpFeed, type PoolIpFeed } from './feed.js';
import type { IpSources } from './ip-sources.js';
import { createPoolIpLearner, type PoolIpLearner } from './learner.js';

export interface PoolIps {
  readonly feed: PoolIpFeed;
  /** Absent when poolIps.learn is false. */
  readonly learner: PoolIpLearner | undefined;
  stop(): Promise<void>;
}

export interface PoolIpsDeps {
  readonly lists: ListManager;
  readonly upstream: UpstreamPool;
  readonly store: StoreConnection;
  readonly writer: Pick<WriterThread, 'writePoolIps'>;
  readonly log: Logger;
  /** Where each learned set goes (response-IP blocking). */
  readonly ipSources: IpSources;
  readonly clock?: () => number;
}

export function startPoolIps(config: Config, deps: PoolIpsDeps): PoolIps {
  const { lists } = deps;
  const settings = config.poolIps;
  let learner: PoolIpLearner | undefined;
  if (settings.learn) {
    const rows = createPoolIpStore(deps.store);
    learner = createPoolIpLearner({
      settings,
      names: () => lists.namesToResolve(),
      allowlist: () => lists.allowlist().map((entry) => entry.domain),
      upstream: deps.upstream,
      store: { rows: () => rows.rows(), write: (write) => deps.writer.writePoolIps(write) },
      onLearned: (list) => deps.ipSources.setLearned(list),
      log: deps.log.child({ component: 'pool-ips' }),
      ...(deps.clock !== undefined ? { clock: deps.clock } : {}),
    });
  }
  const feed = createPoolIpFeed({
    ipLists: () => lists.ipLists(),
    ...(learner !== undefined ? { learned: { addresses: learner.addresses, mode: settings.mode } } : {}),
  });
  learner?.start();
  return {
    feed,
    learner,
    stop: async () => {
      await learner?.stop();
    },
  };
}
