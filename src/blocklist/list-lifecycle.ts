/**
 * The list manager's start and stop. Start: runtime lists and fetch state come back from the
 * database, the last known good copies (and file lists) load before anything is fetched, so
 * poolsink blocks from its first query even offline, then one matcher is built and refreshes are
 * scheduled. Stop: timers and downloads are cancelled and work in progress is awaited.
 */
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import type { Allowlist } from './allowlist.js';
import { specFromDefinition, type ListSpec } from './definition.js';
import type { ListFetcher } from './fetch.js';
import { findEntry, newListEntry, type ListEntry, type ListTable } from './list-entry.js';
import type { ListRecords } from '../store/list-store.js';
import type { RefreshPipeline } from './refresh-pipeline.js';
import type { RefreshScheduling } from './refresh-scheduling.js';
import type { SourceCache } from './source-cache.js';
import type { MatcherSwapper } from './swapper.js';

export interface ListLifecycleOptions {
  readonly table: ListTable;
  readonly store: ListRecords;
  readonly log: Logger;
  readonly baseDir: string;
  readonly cache: SourceCache;
  readonly allowlist: Allowlist;
  readonly swapper: MatcherSwapper;
  readonly scheduling: RefreshScheduling;
  readonly pipeline: RefreshPipeline;
  readonly fetcher: ListFetcher;
  /** The manager created the fetcher, so stop() closes it. */
  readonly ownFetcher: boolean;
}

export interface ListLifecycle {
  /** Loads what is on disk, swaps the first matcher in, then schedules refreshes; once. */
  start(): Promise<void>;
  /** Cancels timers and downloads and waits for work in progress; idempotent. */
  stop(): Promise<void>;
}

export function createListLifecycle(options: ListLifecycleOptions): ListLifecycle {
  const { table, store, log, baseDir, cache, allowlist, swapper, scheduling, pipeline, fetcher } = options;

  /** Runtime lists, runtime allowlist entries and every list's fetch state, as saved in the database. */
  function restoreRuntime(): void {
    for (const row of store.runtimeLists()) {
      if (findEntry(table, row.name) !== undefined) {
        log.warn(
          { list: row.name },
          'a list added over the API has the name of a list in the configuration file; the configuration file wins',
        );
        continue;
      }
      let spec: ListSpec;
      try {
        spec = specFromDefinition(row);
      } catch (err: unknown) {
        log.warn({ list: row.name, err: errorMessage(err) }, 'a list saved in the database is not valid; ignored');
        continue;
      }
      table.entries.push(newListEntry(spec, 'runtime', row.createdMs, baseDir));
    }
    allowlist.restore();
    for (const state of store.listStates()) {
      const entry = findEntry(table, state.name);
      if (entry === undefined) continue;
      entry.lastFetchMs = state.lastFetchMs;
      entry.lastChangeMs = state.lastChangeMs;
      entry.lastError = state.lastError;
    }
  }

  /**
   * A file list from the configuration file that cannot be read at start is a mistake to fix (a
   * typo must not start a resolver that blocks nothing), unless the list says `optional: true`.
   */
  function unreadableAtStart(entry: ListEntry, message: string): void {
    if (entry.origin !== 'config' || entry.source.kind !== 'file') return;
    const index = table.entries.filter((other) => other.origin === 'config').indexOf(entry);
    if (entry.spec.optional === true) {
      log.warn({ list: entry.spec.name, path: entry.source.path, err: message }, 'optional blocklist not loaded');
      return;
    }
    throw new PoolsinkError(
      'ERR_CONFIG_INVALID',
      `config blocklists[${index}].source: list "${entry.spec.name}" cannot be read from ${entry.source.path} ` +
        `(${message}); fix the path, or set "optional: true" on the list to start without it`,
    );
  }

  return {
    async start() {
      if (table.started) return;
      table.started = true;
      restoreRuntime();
      await cache.removeTempFiles();
      table.loadingAtStart = true;
      try {
        for (const entry of table.entries) {
          const result = await pipeline.loadLocal(entry);
          if (result?.outcome === 'failed') unreadableAtStart(entry, result.message ?? 'not readable');
        }
      } finally {
        table.loadingAtStart = false;
      }
      await swapper.rebuild();
      if (swapper.matcher.blockSize === 0) {
        log.error(
          { lists: table.entries.length },
          'no names are blocked: every list is empty or failed to load (see the warnings above); /healthz reports degraded',
        );
      }
      for (const entry of table.entries) if (entry.source.kind === 'url') scheduling.scheduleFirst(entry);
      scheduling.schedulePoll();
    },

    async stop() {
      if (table.stopped) return;
      table.stopped = true;
      const swapperStopped = swapper.stop(); // no swap from here on
      scheduling.cancelAll();
      if (options.ownFetcher) await fetcher.close();
      await Promise.allSettled(table.entries.map((entry) => entry.running?.promise));
      await swapperStopped;
    },
  };
}
