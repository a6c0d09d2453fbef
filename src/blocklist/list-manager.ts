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
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage, isPoolsinkError } from '../errors.js';
import { createSlicer, DEFAULT_SLICE_MS } from './build.js';
import { createAllowlist } from './allowlist.js';
import { applyPatch, specFromDefinition, type ListSpec } from './definition.js';
import { DEFAULT_FETCH_OPTIONS, createListFetcher, type FetchOptions, type ListFetcher, type Validators } from './fetch.js';
import type { ListRecords } from './list-store.js';
import { listSourceOf, type ListSource } from './list-source.js';
import type {
  AllowlistEntry,
  ListDefinition,
  ListInfo,
  ListManagement,
  ListOrigin,
  ListPatch,
  RefreshResult,
} from './list-api.js';
import { createMatcher, type DomainMatcher } from './matcher.js';
import type { ParsedList } from './parse.js';
import { firstRefreshDelayMs, nextRefreshDelayMs } from './refresh-timing.js';
import { createTimerScheduler, type Scheduler, type TimerHandle } from './scheduler.js';
import { createSourceCache, type SourceCache } from './source-cache.js';
import { createMatcherSwapper, type SwapStats } from './swapper.js';
import { evaluateList, fileStamp, retrieveList, type Baseline, type Evaluation, type Retrieved } from './update.js';

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
  readonly fetch?: FetchOptions;
  readonly clock?: () => number;
  /** [0, 1); spreads refreshes (jitter). */
  readonly random?: () => number;
  readonly scheduler?: Scheduler;
  /** How often file sources are checked for changes; 0 turns it off. Default 2000. */
  readonly filePollMs?: number;
  /** Longest stretch of list work between two yields to the event loop. Default 5. */
  readonly sliceMs?: number;
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
}

const DEFAULT_FILE_POLL_MS = 2000;

interface Content {
  readonly parsed: ParsedList;
  readonly sha256: string;
  readonly entries: number;
  readonly loadedFrom: 'source' | 'last-known-good';
}

/** A list's new content, loaded and checked but not yet in use. */
interface Candidate {
  readonly evaluation: Extract<Evaluation, { kind: 'accepted' }>;
  readonly retrieved: Extract<Retrieved, { kind: 'content' }>;
  readonly from: Content['loadedFrom'];
}

interface ListEntry {
  spec: ListSpec;
  readonly origin: ListOrigin;
  readonly createdMs: number;
  source: ListSource;
  /** Bumped when the source or format changes or the list is removed: work started before is dropped. */
  generation: number;
  removed: boolean;
  content: Content | undefined;
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

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function notFound(name: string): PoolsinkError {
  return new PoolsinkError('ERR_NOT_FOUND', `no list named "${name}"`);
}

function readOnly(name: string): PoolsinkError {
  return new PoolsinkError('ERR_CONFLICT', `list "${name}" comes from the configuration file: change it there (only refresh works over the API)`);
}

export function createListManager(options: ListManagerOptions): ListManager {
  const { store, log, onMatcher, baseDir } = options;
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const scheduler = options.scheduler ?? createTimerScheduler();
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  const filePollMs = options.filePollMs ?? DEFAULT_FILE_POLL_MS;
  const ownFetcher = options.fetcher === undefined;
  const fetcher = options.fetcher ?? createListFetcher(options.fetch);
  const maxBytes = options.fetch?.maxBytes ?? DEFAULT_FETCH_OPTIONS.maxBytes;
  const cache: SourceCache = createSourceCache({ dir: join(options.dataDir, 'lists') });

  const allowed = createAllowlist(options.allowlist, store);
  const entries: ListEntry[] = [];
  let started = false;
  /** While start() loads every list: one build at the end instead of one per list. */
  let loadingAtStart = false;
  let stopped = false;
  let pollTimer: TimerHandle | undefined;

  for (const spec of options.lists) {
    if (entries.some((e) => e.spec.name === spec.name)) {
      throw new PoolsinkError('ERR_CONFIG_INVALID', `blocklists: duplicate list name "${spec.name}"`);
    }
    entries.push(newEntry(spec, 'config', 0));
  }

  function newEntry(spec: ListSpec, origin: ListOrigin, createdMs: number): ListEntry {
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

  function find(name: string): ListEntry | undefined {
    return entries.find((e) => e.spec.name === name);
  }

  const swapper = createMatcherSwapper({
    initial: createMatcher([], allowed.names()),
    lists: () =>
      entries.flatMap((e) =>
        e.content === undefined
          ? []
          : [{ name: e.spec.name, mode: e.spec.mode, domains: e.content.parsed.domains, wildcards: e.content.parsed.wildcards }],
      ),
    allowlist: allowed.names,
    onMatcher,
    log,
    clock,
    sliceMs,
  });

  // ---- state and reporting --------------------------------------------------------------------

  function info(entry: ListEntry): ListInfo {
    const { spec, content } = entry;
    const out: Mutable<ListInfo> = {
      name: spec.name,
      source: spec.source,
      format: spec.format,
      mode: spec.mode,
      origin: entry.origin,
      refreshSec: spec.refreshSec,
      maxShrinkPercent: spec.maxShrinkPercent,
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

  /** Not awaited by callers: the state is a record for the next start, nothing here waits for it. */
  function persistState(entry: ListEntry): void {
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

  function baseline(entry: ListEntry): Baseline {
    return {
      ...(entry.content !== undefined ? { sha256: entry.content.sha256, entries: entry.content.entries } : {}),
      ...(entry.rejected !== undefined ? { rejected: entry.rejected } : {}),
    };
  }

  function noteFailure(entry: ListEntry, message: string): void {
    entry.lastError = message;
    entry.fetchFailures++;
    entry.failureStreak++;
    // Offline, every list would fail every retry: one warning per streak, the rest at debug.
    if (entry.failureStreak === 1) log.warn({ list: entry.spec.name, source: entry.spec.source, err: message }, 'blocklist update failed; keeping the previous entries');
    else log.debug({ list: entry.spec.name, failures: entry.failureStreak, err: message }, 'blocklist update failed again');
  }

  function noteSuccess(entry: ListEntry): void {
    if (entry.failureStreak > 0) log.info({ list: entry.spec.name, after: entry.failureStreak }, 'blocklist reachable again');
    entry.failureStreak = 0;
    entry.lastError = undefined;
  }

  // ---- scheduling -----------------------------------------------------------------------------

  function scheduleRefresh(entry: ListEntry, delayMs: number): void {
    entry.timer?.cancel();
    entry.timer = undefined;
    entry.nextRefreshMs = undefined;
    if (stopped || !started || entry.removed || entry.source.kind !== 'url') return;
    const delay = Math.max(0, Math.round(delayMs));
    entry.nextRefreshMs = clock() + delay;
    entry.timer = scheduler.schedule(delay, () => {
      entry.timer = undefined;
      entry.nextRefreshMs = undefined;
      refreshEntry(entry, false).catch((err: unknown) => log.error({ err, list: entry.spec.name }, 'scheduled refresh failed'));
    });
  }

  /** First refresh after start: when the last one (before the restart) says it is due. */
  function scheduleFirst(entry: ListEntry): void {
    const last = { loaded: entry.content !== undefined, lastFetchMs: entry.lastFetchMs, lastFailed: entry.lastError !== undefined };
    scheduleRefresh(entry, firstRefreshDelayMs(entry.spec.refreshSec, last, clock(), random()));
  }

  async function pollFiles(): Promise<void> {
    pollTimer = undefined;
    for (const entry of entries) {
      if (stopped || entry.source.kind !== 'file' || entry.running !== undefined) continue;
      const stamp = await fileStamp(entry.source.path);
      if (stamp !== entry.fileStamp && !entry.removed) {
        log.info({ list: entry.spec.name, path: entry.source.path }, 'blocklist file changed');
        await refreshEntry(entry, false);
      }
    }
    schedulePoll();
  }

  function schedulePoll(): void {
    if (stopped || filePollMs <= 0 || pollTimer !== undefined) return;
    pollTimer = scheduler.schedule(filePollMs, () => {
      pollFiles().catch((err: unknown) => log.error({ err }, 'checking blocklist files failed'));
    });
  }

  // ---- refreshing -----------------------------------------------------------------------------

  function superseded(entry: ListEntry, generation: number): boolean {
    return entry.removed || entry.generation !== generation;
  }

  /** Makes `evaluation` (of bytes from the source) the list's state; swaps when entries changed. */
  async function apply(
    entry: ListEntry,
    evaluation: Evaluation,
    body: Buffer,
    validators: Validators,
    from: Content['loadedFrom'],
  ): Promise<RefreshResult> {
    const name = entry.spec.name;
    const previousEntries = entry.content?.entries ?? 0;
    switch (evaluation.kind) {
      case 'unchanged': {
        noteSuccess(entry);
        const changedValidators = validators.etag !== entry.validators.etag || validators.lastModified !== entry.validators.lastModified;
        entry.validators = validators;
        if (changedValidators && entry.source.kind === 'url') await saveCopy(entry, body, evaluation.sha256);
        return { name, outcome: 'unchanged', entries: previousEntries, previousEntries };
      }
      case 'rejected':
        entry.rejected = { sha256: evaluation.sha256, message: evaluation.message };
        entry.lastError = evaluation.message;
        log.warn({ list: name, source: entry.spec.source, reason: evaluation.message }, 'blocklist update rejected; keeping the previous entries');
        return { name, outcome: 'rejected', entries: previousEntries, previousEntries, message: evaluation.message };
      case 'accepted': {
        if (from === 'source') noteSuccess(entry); // a copy from disk says nothing about the source: its last error stands
        // The copy is written while the matcher builds; a crash in between restarts from the older copy.
        const saved = from === 'source' && entry.source.kind === 'url' ? saveCopy(entry, body, evaluation.sha256, validators) : undefined;
        entry.content = { parsed: evaluation.parsed, sha256: evaluation.sha256, entries: evaluation.entries, loadedFrom: from };
        entry.validators = validators;
        entry.rejected = undefined;
        log.info(
          { list: name, entries: evaluation.entries, previous: previousEntries, skipped: evaluation.parsed.skipped, from },
          'blocklist loaded',
        );
        if (!loadingAtStart) await swapper.rebuild();
        await saved;
        return { name, outcome: 'updated', entries: evaluation.entries, previousEntries };
      }
    }
  }

  async function saveCopy(entry: ListEntry, body: Buffer, sha256: string, validators: Validators = entry.validators): Promise<void> {
    try {
      await cache.write(entry.spec.name, body, { source: entry.spec.source, sha256, validators, savedMs: clock() });
    } catch (err: unknown) {
      log.warn({ list: entry.spec.name, err: errorMessage(err) }, 'last known good copy not saved; the list is in use but will not survive a restart offline');
    }
  }

  async function runRefresh(entry: ListEntry, force: boolean): Promise<RefreshResult> {
    const generation = entry.generation;
    const name = entry.spec.name;
    const previousEntries = entry.content?.entries ?? 0;
    const changed = (): RefreshResult => ({ name, outcome: 'failed', entries: previousEntries, previousEntries, message: 'the list was changed or removed during the refresh' });
    entry.lastFetchMs = clock();
    let result: RefreshResult;
    try {
      // Forced refreshes download afresh: the copy we hold may be the very thing being overridden.
      const conditional = !force && entry.content !== undefined ? entry.validators : {};
      const retrieved = await retrieveList(entry.source, conditional, fetcher, maxBytes);
      if (superseded(entry, generation)) return changed();
      if (retrieved.kind === 'not-modified') {
        noteSuccess(entry);
        result = { name, outcome: 'unchanged', entries: previousEntries, previousEntries };
      } else {
        entry.fileStamp = retrieved.fileStamp;
        const evaluation = await evaluateList(retrieved.body, entry.spec, baseline(entry), force, createSlicer(sliceMs));
        if (superseded(entry, generation)) return changed();
        result = await apply(entry, evaluation, retrieved.body, retrieved.validators, 'source');
        if (result.outcome === 'updated') entry.lastChangeMs = retrieved.fileMtimeMs ?? clock();
      }
    } catch (err: unknown) {
      if (superseded(entry, generation)) return changed();
      if (entry.source.kind === 'file') entry.fileStamp = await fileStamp(entry.source.path);
      noteFailure(entry, errorMessage(err));
      result = { name, outcome: 'failed', entries: previousEntries, previousEntries, message: errorMessage(err) };
    }
    persistState(entry);
    scheduleRefresh(entry, nextRefreshDelayMs(entry.spec.refreshSec, result.outcome === 'failed' ? entry.failureStreak : 0, random()));
    return result;
  }

  /** One refresh per list at a time: a second caller shares the one running (or, forcing, follows it). */
  function refreshEntry(entry: ListEntry, force: boolean): Promise<RefreshResult> {
    const running = entry.running;
    if (running !== undefined) {
      if (running.generation === entry.generation && (running.force || !force)) return running.promise;
      return running.promise.then(() => refreshEntry(entry, force));
    }
    const promise = runRefresh(entry, force).finally(() => {
      if (entry.running?.promise === promise) entry.running = undefined;
    });
    entry.running = { promise, force, generation: entry.generation };
    return promise;
  }

  /** Loads what is on this machine: the file, or the last known good copy of a URL list. */
  async function loadLocal(entry: ListEntry): Promise<void> {
    const name = entry.spec.name;
    const generation = entry.generation;
    if (entry.source.kind === 'file') {
      await refreshEntry(entry, false);
      return;
    }
    try {
      const copy = await cache.read(name);
      if (copy === undefined || superseded(entry, generation)) return;
      const evaluation = await evaluateList(copy.body, entry.spec, {}, false, createSlicer(sliceMs));
      if (superseded(entry, generation)) return;
      // Validators only go back to the source they came from, and only with the text they describe.
      const meta = copy.meta;
      const validators = meta !== undefined && meta.source === entry.spec.source && meta.sha256 === evaluation.sha256 ? meta.validators : {};
      if (evaluation.kind === 'accepted') {
        await apply(entry, evaluation, copy.body, validators, 'last-known-good');
        entry.lastChangeMs ??= meta?.savedMs;
      } else if (evaluation.kind === 'rejected') {
        log.warn({ list: name, reason: evaluation.message }, 'last known good copy not usable');
      }
    } catch (err: unknown) {
      log.warn({ list: name, err: errorMessage(err) }, 'last known good copy not loaded');
    }
  }

  // ---- start and stop -------------------------------------------------------------------------

  function restoreRuntime(): void {
    for (const row of store.runtimeLists()) {
      if (find(row.name) !== undefined) {
        log.warn({ list: row.name }, 'a list added over the API has the name of a list in the configuration file; the configuration file wins');
        continue;
      }
      let spec: ListSpec;
      try {
        spec = specFromDefinition(row);
      } catch (err: unknown) {
        log.warn({ list: row.name, err: errorMessage(err) }, 'a list saved in the database is not valid; ignored');
        continue;
      }
      entries.push(newEntry(spec, 'runtime', row.createdMs));
    }
    allowed.restore();
    for (const state of store.listStates()) {
      const entry = find(state.name);
      if (entry === undefined) continue;
      entry.lastFetchMs = state.lastFetchMs;
      entry.lastChangeMs = state.lastChangeMs;
      entry.lastError = state.lastError;
    }
  }

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    restoreRuntime();
    await cache.removeTempFiles();
    loadingAtStart = true;
    try {
      for (const entry of entries) await loadLocal(entry);
    } finally {
      loadingAtStart = false;
    }
    await swapper.rebuild();
    for (const entry of entries) if (entry.source.kind === 'url') scheduleFirst(entry);
    schedulePoll();
  }

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    const swapperStopped = swapper.stop(); // no swap from here on
    pollTimer?.cancel();
    for (const entry of entries) entry.timer?.cancel();
    if (ownFetcher) await fetcher.close();
    await Promise.allSettled(entries.map((e) => e.running?.promise));
    await swapperStopped;
  }

  // ---- management API ---------------------------------------------------------------------------

  function runtimeEntry(name: string): ListEntry {
    const entry = find(name);
    if (entry === undefined) throw notFound(name);
    if (entry.origin === 'config') throw readOnly(name);
    return entry;
  }

  /**
   * Loads `spec` from its source (or, with reuseCopy, from the copy on disk fetched from that same
   * source) without touching any state. Throws ERR_LIST_FETCH, ERR_LIST_READ or ERR_LIST_REJECTED.
   */
  async function loadCandidate(spec: ListSpec, reuseCopy: boolean): Promise<Candidate> {
    const source = listSourceOf(spec.source, baseDir);
    const copy = reuseCopy && source.kind === 'url' ? await cache.read(spec.name) : undefined;
    let retrieved: Extract<Retrieved, { kind: 'content' }>;
    let from: Content['loadedFrom'] = 'source';
    if (copy !== undefined && copy.meta?.source === spec.source) {
      retrieved = { kind: 'content', body: copy.body, validators: copy.meta.validators };
      from = 'last-known-good';
    } else {
      try {
        const fresh = await retrieveList(source, {}, fetcher, maxBytes);
        if (fresh.kind !== 'content') throw new Error('304 to an unconditional request'); // the fetcher refuses those
        retrieved = fresh;
      } catch (err: unknown) {
        const code = isPoolsinkError(err) ? err.code : 'ERR_LIST_FETCH';
        throw new PoolsinkError(code, `list "${spec.name}" not loaded: ${errorMessage(err)}`, { cause: err });
      }
    }
    const evaluation = await evaluateList(retrieved.body, spec, {}, false, createSlicer(sliceMs));
    if (evaluation.kind !== 'accepted') {
      const message = evaluation.kind === 'rejected' ? evaluation.message : 'unchanged';
      throw new PoolsinkError('ERR_LIST_REJECTED', `list "${spec.name}" not loaded: ${message}`);
    }
    // Validators describe the text they came with: a copy edited on disk gets none.
    if (from === 'last-known-good' && copy?.meta?.sha256 !== evaluation.sha256) retrieved = { ...retrieved, validators: {} };
    return { evaluation, retrieved, from };
  }

  /** Makes a loaded candidate the list's content (the list's spec already set), and swaps it in. */
  async function commitCandidate(entry: ListEntry, candidate: Candidate): Promise<void> {
    entry.generation++; // a refresh of what the list was before is dropped
    entry.source = listSourceOf(entry.spec.source, baseDir);
    entry.content = undefined;
    entry.rejected = undefined;
    entry.failureStreak = 0;
    entry.lastError = undefined;
    entry.fileStamp = candidate.retrieved.fileStamp;
    entry.lastFetchMs = clock();
    await apply(entry, candidate.evaluation, candidate.retrieved.body, candidate.retrieved.validators, candidate.from);
    entry.lastChangeMs = candidate.retrieved.fileMtimeMs ?? clock();
    persistState(entry);
    scheduleRefresh(entry, nextRefreshDelayMs(entry.spec.refreshSec, 0, random()));
  }

  async function addList(definition: ListDefinition): Promise<ListInfo> {
    const spec = specFromDefinition(definition);
    const conflict = (): PoolsinkError => new PoolsinkError('ERR_CONFLICT', `a list named "${spec.name}" already exists`);
    if (find(spec.name) !== undefined) throw conflict();
    const candidate = await loadCandidate(spec, false); // a list is added only once it loads
    if (find(spec.name) !== undefined) throw conflict(); // added by another call meanwhile
    const createdMs = clock();
    await store.insertRuntimeList({ ...spec, createdMs });
    const entry = newEntry(spec, 'runtime', createdMs);
    entries.push(entry);
    await commitCandidate(entry, candidate);
    return info(entry);
  }

  async function updateList(name: string, patch: ListPatch): Promise<ListInfo> {
    const entry = runtimeEntry(name);
    const before = entry.spec;
    const spec = applyPatch(before, patch);
    const sourceChanged = spec.source !== before.source;
    // A new source or format must load before anything changes: a failed PATCH leaves the list as it was.
    const candidate = sourceChanged || spec.format !== before.format ? await loadCandidate(spec, !sourceChanged) : undefined;
    if (entry.removed) throw notFound(name);
    await store.updateRuntimeList({ ...spec, createdMs: entry.createdMs });
    if (entry.removed) throw notFound(name); // removed while the update was written
    entry.spec = spec;
    if (candidate !== undefined) {
      await commitCandidate(entry, candidate);
      return info(entry);
    }
    if (spec.mode !== before.mode) await swapper.rebuild();
    if (spec.refreshSec !== before.refreshSec && entry.running === undefined) {
      const sinceLastMs = entry.lastFetchMs === undefined ? Infinity : clock() - entry.lastFetchMs;
      scheduleRefresh(entry, Math.max(0, nextRefreshDelayMs(spec.refreshSec, 0, random()) - sinceLastMs));
    }
    return info(entry);
  }

  async function removeList(name: string): Promise<void> {
    const entry = runtimeEntry(name);
    // Gone from the manager first, so nothing finds it (or saves state for it) while the delete is
    // written; put back if the delete fails.
    const index = entries.indexOf(entry);
    entries.splice(index, 1);
    entry.removed = true;
    try {
      await store.deleteRuntimeList(name);
    } catch (err: unknown) {
      entry.removed = false;
      entries.splice(Math.min(index, entries.length), 0, entry);
      await swapper.rebuild();
      throw err;
    }
    entry.generation++;
    entry.timer?.cancel();
    try {
      await cache.remove(name);
    } catch (err: unknown) {
      log.warn({ list: name, err: errorMessage(err) }, 'last known good copy of a removed list not deleted');
    }
    await swapper.rebuild();
  }

  async function refresh(name: string | undefined, refreshOptions: { force: boolean }): Promise<readonly RefreshResult[]> {
    if (name !== undefined) {
      const entry = find(name);
      if (entry === undefined) throw notFound(name);
      return [await refreshEntry(entry, refreshOptions.force)];
    }
    return Promise.all(entries.map((entry) => refreshEntry(entry, refreshOptions.force)));
  }

  async function allow(input: string): Promise<AllowlistEntry> {
    const entry = await allowed.add(input, clock());
    swapper.swapAllowlist();
    log.info({ domain: entry.domain }, 'allowlist entry added');
    return entry;
  }

  async function unallow(input: string): Promise<void> {
    const domain = await allowed.remove(input);
    swapper.swapAllowlist();
    log.info({ domain }, 'allowlist entry removed');
  }

  return {
    start,
    stop,
    get matcher() {
      return swapper.matcher;
    },
    status() {
      return {
        lists: entries.map((entry): ListStatusDetail => ({
          ...info(entry),
          fetchFailures: entry.fetchFailures,
          refreshing: entry.running !== undefined,
          ...(entry.nextRefreshMs !== undefined ? { nextRefreshMs: entry.nextRefreshMs } : {}),
        })),
        blockedNames: swapper.matcher.size,
        allowlistSize: swapper.matcher.allowlistSize,
        building: swapper.building,
        ...(swapper.lastSwap !== undefined ? { lastSwap: swapper.lastSwap } : {}),
      };
    },
    lists: () => entries.map(info),
    addList,
    updateList,
    removeList,
    refresh,
    allowlist: allowed.entries,
    allow,
    unallow,
  };
}
