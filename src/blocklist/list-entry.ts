/**
 * The list manager's state: one ListEntry per list (its spec, loaded content, fetch state, timer
 * and the refresh in progress), the table that holds them in order with the manager's phase, and
 * how an entry is reported (ListInfo), compared (Baseline) and recorded (failures, saved state).
 * Plain data and functions: the manager's other modules (refresh-scheduling, refresh-pipeline,
 * list-lifecycle, list-changes) all work on the same table.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { resolvesForIps, type ListSpec } from './definition.js';
import type { Validators } from './fetch.js';
import type { ListInfo, ListOrigin, RefreshResult } from './list-api.js';
import { listSourceOf, type ListSource } from './list-source.js';
import type { ListRecords } from '../store/list-store.js';
import type { ParsedList } from './parse.js';
import type { SourceCache } from './source-cache.js';
import type { TimerHandle } from './scheduler.js';
import type { Baseline } from './update.js';

/** The entries a list holds now. */
export interface ListContent {
  readonly parsed: ParsedList;
  readonly sha256: string;
  readonly entries: number;
  readonly loadedFrom: 'source' | 'last-known-good';
}

export interface ListEntry {
  spec: ListSpec;
  readonly origin: ListOrigin;
  readonly createdMs: number;
  source: ListSource;
  /** Bumped when the source or format changes or the list is removed: work started before is dropped. */
  generation: number;
  removed: boolean;
  content: ListContent | undefined;
  /** Validators of `content` (URL lists), sent with the next fetch. */
  validators: Validators;
  rejected: { sha256: string; message: string } | undefined;
  lastFetchMs: number | undefined;
  lastChangeMs: number | undefined;
  lastError: string | undefined;
  fetchFailures: number;
  failureStreak: number;
  timer: TimerHandle | undefined;
  nextRefreshMs: number | undefined;
  /** File lists: the file as last read, or undefined when it could not be. */
  fileStamp: string | undefined;
  running: { promise: Promise<RefreshResult>; force: boolean; generation: number } | undefined;
}

/** The lists the manager holds, in order (the first list to have a name reports it), and its phase. */
export interface ListTable {
  readonly entries: ListEntry[];
  /** start() has been called. */
  started: boolean;
  /** While start() loads every list: one build at the end instead of one per list. */
  loadingAtStart: boolean;
  /** stop() has been called: no timers, no swaps. */
  stopped: boolean;
}

export function createListTable(): ListTable {
  return { entries: [], started: false, loadingAtStart: false, stopped: false };
}

export function findEntry(table: ListTable, name: string): ListEntry | undefined {
  return table.entries.find((entry) => entry.spec.name === name);
}

export function newListEntry(spec: ListSpec, origin: ListOrigin, createdMs: number, baseDir: string): ListEntry {
  return {
    spec,
    origin,
    createdMs,
    source: listSourceOf(spec.source, baseDir),
    generation: 0,
    removed: false,
    content: undefined,
    validators: {},
    rejected: undefined,
    lastFetchMs: undefined,
    lastChangeMs: undefined,
    lastError: undefined,
    fetchFailures: 0,
    failureStreak: 0,
    timer: undefined,
    nextRefreshMs: undefined,
    fileStamp: undefined,
    running: undefined,
  };
}

/** True when work started at `generation` must be dropped: the list changed or went away since. */
export function isSuperseded(entry: ListEntry, generation: number): boolean {
  return entry.removed || entry.generation !== generation;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function listInfo(entry: ListEntry): ListInfo {
  const { spec, content } = entry;
  const out: Mutable<ListInfo> = {
    name: spec.name,
    source: spec.source,
    format: spec.format,
    mode: spec.mode,
    origin: entry.origin,
    refreshSec: spec.refreshSec,
    maxShrinkPercent: spec.maxShrinkPercent,
    resolveForIps: resolvesForIps(spec),
    entries: content?.entries ?? 0,
    skipped: content?.parsed.skipped ?? 0,
    skippedByReason: { ...content?.parsed.skippedByReason },
  };
  if (entry.lastFetchMs !== undefined) out.lastFetchMs = entry.lastFetchMs;
  if (entry.lastChangeMs !== undefined) out.lastChangeMs = entry.lastChangeMs;
  if (entry.lastError !== undefined) out.lastError = entry.lastError;
  if (content !== undefined) out.loadedFrom = content.loadedFrom;
  return Object.freeze(out);
}

/** What an update of the entry is compared against. */
export function baselineOf(entry: ListEntry): Baseline {
  return {
    ...(entry.content !== undefined ? { sha256: entry.content.sha256, entries: entry.content.entries } : {}),
    ...(entry.rejected !== undefined ? { rejected: entry.rejected } : {}),
  };
}

/** `message` is what the API shows (lastError); `detail`, what the log shows. */
export function noteFailure(entry: ListEntry, message: string, log: Logger, detail = message): void {
  entry.lastError = message;
  entry.fetchFailures++;
  entry.failureStreak++;
  // Offline, every list would fail every retry: one warning per streak, the rest at debug.
  if (entry.failureStreak === 1) {
    log.warn(
      { list: entry.spec.name, source: entry.spec.source, err: detail },
      'blocklist update failed; keeping the previous entries',
    );
  } else {
    log.debug({ list: entry.spec.name, failures: entry.failureStreak, err: detail }, 'blocklist update failed again');
  }
}

export function noteSuccess(entry: ListEntry, log: Logger): void {
  if (entry.failureStreak > 0) {
    log.info({ list: entry.spec.name, after: entry.failureStreak }, 'blocklist reachable again');
  }
  entry.failureStreak = 0;
  entry.lastError = undefined;
}

/**
 * Saves the entry's fetch state for the next start. Not awaited by callers: the state is a record
 * for the next start, nothing here waits for it.
 */
export function persistState(entry: ListEntry, store: ListRecords, log: Logger): void {
  if (entry.removed) return;
  const row = {
    name: entry.spec.name,
    ...(entry.validators.etag !== undefined ? { etag: entry.validators.etag } : {}),
    ...(entry.validators.lastModified !== undefined ? { lastModified: entry.validators.lastModified } : {}),
    ...(entry.lastFetchMs !== undefined ? { lastFetchMs: entry.lastFetchMs } : {}),
    ...(entry.lastChangeMs !== undefined ? { lastChangeMs: entry.lastChangeMs } : {}),
    ...(entry.lastError !== undefined ? { lastError: entry.lastError } : {}),
    ...(entry.content !== undefined ? { entries: entry.content.entries } : {}),
  };
  void (async () => {
    try {
      await store.saveListState(row);
    } catch (err: unknown) {
      log.warn({ list: row.name, err: errorMessage(err) }, 'list state not saved');
    }
  })();
}

/** What every part of the list manager works with: the table of lists and where they are kept. */
export interface ListContext {
  readonly table: ListTable;
  readonly store: ListRecords;
  readonly log: Logger;
  readonly clock: () => number;
  readonly random: () => number;
  /** Relative file sources resolve against this. */
  readonly baseDir: string;
  /** Last known good copies of URL lists. */
  readonly cache: SourceCache;
}
