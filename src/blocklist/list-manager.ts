/**
 * The list manager: keeps every list (from the configuration file and added over the API) loaded,
 * refreshed and merged into the matcher the resolver uses.
 *
 * - Start: last known good copies of URL lists and file lists are loaded before anything is
 *   fetched, so poolsink blocks from its first query even offline; then URL lists refresh every
 *   refreshSec (jittered) and file lists reload when the file changes (stat polling, which sees
 *   editors that write a new file and rename it over the old one).
 * - Update: see update.ts. A failed or rejected update keeps the previous entries and is reported
 *   (lastError, one warning per streak of failures).
 * - Swap: the new matcher is built in time slices (build.ts), then handed to onMatcher in one
 *   call: a query sees the old lists or the new ones. Builds are serialized and coalesced: changes
 *   made while one runs are merged by the next. An allowlist change swaps at once, sharing the
 *   lists' tables (DomainMatcher.withAllowlist).
 * - Runtime lists and allowlist entries persist in the database (list-store.ts); lists from the
 *   configuration file are read-only over the API except for refresh.
 *
 * The parts, each over one shared table of lists: list-entry.ts (a list's state and how it is
 * reported), refresh-scheduling.ts (timers, file polling), refresh-pipeline.ts (retrieve, evaluate,
 * apply), list-lifecycle.ts (start, stop) and list-changes.ts (what the admin API asks for).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PoolsinkError } from '../errors.js';
import { createAllowlist } from './allowlist.js';
import type { AddedNamesSink } from './added-names.js';
import { DEFAULT_SLICE_MS } from './build.js';
import type { ListSpec } from './definition.js';
import { DEFAULT_FETCH_OPTIONS, createListFetcher, type FetchOptions, type ListFetcher } from './fetch.js';
import type { ListInfo, ListManagement } from './list-api.js';
import { createListChanges } from './list-changes.js';
import { createConfigLists, type ConfigListsChange } from './config-lists.js';
import { createListTable, findEntry, listInfo, newListEntry } from './list-entry.js';
import { createListLifecycle } from './list-lifecycle.js';
import type { ListRecords } from '../store/list-store.js';
import { createMatcher, type DomainMatcher } from './matcher.js';
import { createRefreshPipeline } from './refresh-pipeline.js';
import { DEFAULT_FILE_POLL_MS, createRefreshScheduling } from './refresh-scheduling.js';
import { createTimerScheduler, type Scheduler } from './scheduler.js';
import { createSourceCache } from './source-cache.js';
import { createMatcherSwapper, type SwapStats } from './swapper.js';

export interface ListManagerOptions {
  /** Lists from the configuration file, in order (the first list to have a name reports it). */
  readonly lists: readonly ListSpec[];
  /** The configuration file's allowlist. */
  readonly allowlist: readonly string[];
  /** Relative file sources resolve against this (the configuration file's directory). */
  readonly baseDir: string;
  /** Last known good copies go to `<dataDir>/lists/`. */
  readonly dataDir: string;
  readonly store: ListRecords;
  readonly log: Logger;
  /** Called with every new matcher, the first time at the end of start(). */
  readonly onMatcher: (matcher: DomainMatcher) => void;
  /** Downloads; by default one the manager creates from `fetch` (and closes on stop). */
  readonly fetcher?: ListFetcher;
  /** Download options, `allowPrivateSources` (lists.allowPrivateSources) included. */
  readonly fetch?: FetchOptions;
  /** The only directory file sources added over the API may be in (lists.fileSourceDir); default: none allowed. */
  readonly fileSourceDir?: string;
  readonly clock?: () => number;
  /** [0, 1); spreads refreshes (jitter). */
  readonly random?: () => number;
  readonly scheduler?: Scheduler;
  /** How often file sources are checked for changes; 0 turns it off. Default 2000. */
  readonly filePollMs?: number;
  /** Longest stretch of list work between two yields to the event loop. Default 5. */
  readonly sliceMs?: number;
  /**
   * Told of the names a list gained (a refresh, a runtime list added, a new source), after they
   * are in the matcher: the retro-hunt. Not at start: the lists loaded then are what poolsink
   * already had, and their names were hunted when they were gained.
   */
  readonly onNamesAdded?: AddedNamesSink;
}

export interface ListStatusDetail extends ListInfo {
  /** Failed fetches or reads since start. */
  readonly fetchFailures: number;
  /** When the next refresh is due (URL lists), ms since epoch. */
  readonly nextRefreshMs?: number;
  readonly refreshing: boolean;
}

export type { SwapStats };

export interface ListManagerStatus {
  readonly lists: readonly ListStatusDetail[];
  readonly blockedNames: number;
  readonly allowlistSize: number;
  readonly building: boolean;
  readonly lastSwap?: SwapStats;
}

export interface ListManager extends ListManagement {
  /** Loads what is on disk, swaps the first matcher in (onMatcher), then schedules refreshes. */
  start(): Promise<void>;
  /** Cancels timers and downloads and waits for work in progress; idempotent. */
  stop(): Promise<void>;
  /** The matcher last handed to onMatcher (before start: the allowlist alone). */
  readonly matcher: DomainMatcher;
  status(): ListManagerStatus;
  /** A configuration reload: the file's lists and allowlist replaced, runtime ones kept (config-lists.ts). */
  applyConfig(lists: readonly ListSpec[], allowlist: readonly string[]): Promise<ConfigListsChange>;
}

/**
 * Wires the manager's parts over one table of lists: the swapper (matcher builds), refresh
 * scheduling, the refresh pipeline, start/stop (list-lifecycle.ts) and the API's changes
 * (list-changes.ts). Throws ERR_CONFIG_INVALID for two configured lists with one name.
 */
export function createListManager(options: ListManagerOptions): ListManager {
  const { store, log, onMatcher, baseDir } = options;
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  const ownFetcher = options.fetcher === undefined;
  const fetcher = options.fetcher ?? createListFetcher(options.fetch);
  const maxBytes = options.fetch?.maxBytes ?? DEFAULT_FETCH_OPTIONS.maxBytes;
  const cache = createSourceCache({ dir: join(options.dataDir, 'lists') });
  const allowlist = createAllowlist(options.allowlist, store);

  const table = createListTable();
  for (const spec of options.lists) {
    if (findEntry(table, spec.name) !== undefined) {
      throw new PoolsinkError('ERR_CONFIG_INVALID', `blocklists: duplicate list name "${spec.name}"`);
    }
    table.entries.push(newListEntry(spec, 'config', 0, baseDir));
  }

  const swapper = createMatcherSwapper({
    initial: createMatcher([], allowlist.names()),
    lists: () =>
      table.entries.flatMap((entry) => {
        const content = entry.content;
        if (content === undefined) return [];
        const { domains, wildcards } = content.parsed;
        return [{ name: entry.spec.name, mode: entry.spec.mode, domains, wildcards }];
      }),
    allowlist: allowlist.names,
    onMatcher,
    log,
    clock,
    sliceMs,
  });
  const scheduling = createRefreshScheduling({
    table,
    scheduler: options.scheduler ?? createTimerScheduler(),
    clock,
    random,
    log,
    filePollMs: options.filePollMs ?? DEFAULT_FILE_POLL_MS,
    refresh: (entry) => pipeline.refreshEntry(entry, false),
  });
  const pipeline = createRefreshPipeline({
    table,
    store,
    log,
    clock,
    random,
    baseDir,
    cache,
    fetcher,
    maxBytes,
    fileSourceDir: options.fileSourceDir,
    sliceMs,
    swapper,
    scheduling,
    ...(options.onNamesAdded !== undefined ? { onNamesAdded: options.onNamesAdded } : {}),
  });
  const parts = { table, store, log, baseDir, cache, allowlist, swapper, scheduling, pipeline };
  const lifecycle = createListLifecycle({ ...parts, fetcher, ownFetcher });
  const changes = createListChanges({ ...parts, clock, random });
  const configLists = createConfigLists({ ...parts, clock, random });

  return {
    start: lifecycle.start,
    stop: lifecycle.stop,
    get matcher() {
      return swapper.matcher;
    },
    status() {
      return {
        lists: table.entries.map(
          (entry): ListStatusDetail => ({
            ...listInfo(entry),
            fetchFailures: entry.fetchFailures,
            refreshing: entry.running !== undefined,
            ...(entry.nextRefreshMs !== undefined ? { nextRefreshMs: entry.nextRefreshMs } : {}),
          }),
        ),
        blockedNames: swapper.matcher.size,
        allowlistSize: swapper.matcher.allowlistSize,
        building: swapper.building,
        ...(swapper.lastSwap !== undefined ? { lastSwap: swapper.lastSwap } : {}),
      };
    },
    lists: () => table.entries.map(listInfo),
    applyConfig: configLists.applyConfig,
    ...changes,
    allowlist: allowlist.entries,
  };
}
