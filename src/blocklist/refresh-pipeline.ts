/**
 * One list's refresh, from bytes to swap: retrieve (download or file read, see update.ts),
 * evaluate (hash, parse, guards), apply (the entry's new state, the last known good copy, a
 * rebuild of the matcher), then record and schedule the next one. One refresh per list at a time;
 * work that a change or removal of the list overtook (see isSuperseded) is dropped.
 *
 * Also the two other ways content gets into an entry: the local copy at start (loadLocal), and a
 * candidate loaded for an API change before anything is touched (loadCandidate, commitCandidate).
 */
import { PoolsinkError, errorMessage, isPoolsinkError } from '../errors.js';
import { addedNames, type AddedNamesSink } from './added-names.js';
import { createSlicer, normalizedCopy } from './build.js';
import type { ListSpec } from './definition.js';
import type { ListFetcher, Validators } from './fetch.js';
import type { RefreshResult } from './list-api.js';
import {
  baselineOf,
  isSuperseded,
  noteFailure,
  noteSuccess,
  persistState,
  type ListContent,
  type ListEntry,
  type ListContext,
} from './list-entry.js';
import { listSourceOf } from './list-source.js';
import type { ParsedList } from './parse.js';
import type { RefreshScheduling } from './refresh-scheduling.js';
import { nextRefreshDelayMs } from './refresh-timing.js';
import type { MatcherSwapper } from './swapper.js';
import { evaluateList, fileStamp, retrieveList, type Evaluation, type Retrieved, type SourceAccess } from './update.js';

/**
 * What the API sees of a failed download of a list it added: one message whatever went wrong, so
 * the fetcher cannot be used to tell closed ports from HTTP errors. The details go to the log.
 */
export const LIST_FETCH_FAILED = 'list source could not be fetched';

function reportedMessage(err: unknown, origin: ListEntry['origin']): string {
  return origin === 'runtime' && isPoolsinkError(err, 'ERR_LIST_FETCH') ? LIST_FETCH_FAILED : errorMessage(err);
}

/** A list's new content, loaded and checked but not yet in use. */
export interface Candidate {
  readonly evaluation: Extract<Evaluation, { kind: 'accepted' }>;
  readonly retrieved: Extract<Retrieved, { kind: 'content' }>;
  readonly from: ListContent['loadedFrom'];
}

export interface RefreshPipelineOptions extends ListContext {
  readonly fetcher: ListFetcher;
  readonly maxBytes: number;
  /** Where file sources added over the API must be (lists.fileSourceDir); undefined: none allowed. */
  readonly fileSourceDir: string | undefined;
  readonly sliceMs: number;
  readonly swapper: MatcherSwapper;
  readonly scheduling: RefreshScheduling;
  /** Told of the names a list gained once they are in the matcher (not at start); added-names.ts. */
  readonly onNamesAdded?: AddedNamesSink;
}

export interface RefreshPipeline {
  /** Refreshes one list; a second caller shares the one running (or, forcing, follows it). */
  refreshEntry(entry: ListEntry, force: boolean): Promise<RefreshResult>;
  /** Loads what is on this machine: the file (its read's result), or the last known good copy of a URL list. */
  loadLocal(entry: ListEntry): Promise<RefreshResult | undefined>;
  /**
   * Loads `spec` (from the API) from its source without touching any state; `force` accepts what
   * the guards would reject (no entries), never what is not a list at all. Throws ERR_LIST_FETCH
   * (with the generic message), ERR_LIST_READ, ERR_INVALID or ERR_LIST_REJECTED.
   */
  loadCandidate(spec: ListSpec, force?: boolean): Promise<Candidate>;
  /** Makes a loaded candidate the list's content (the list's spec already set), and swaps it in. */
  commitCandidate(entry: ListEntry, candidate: Candidate): Promise<void>;
}

export function createRefreshPipeline(options: RefreshPipelineOptions): RefreshPipeline {
  const { table, store, log, clock, random, baseDir, cache, fetcher, maxBytes, sliceMs, swapper, scheduling } = options;
  const access = (origin: ListEntry['origin']): SourceAccess => ({
    fetcher,
    maxBytes,
    trusted: origin === 'config',
    fileSourceDir: options.fileSourceDir,
  });

  /** Makes `evaluation` (of bytes from the source) the list's state; swaps when entries changed. */
  async function apply(
    entry: ListEntry,
    evaluation: Evaluation,
    validators: Validators,
    from: ListContent['loadedFrom'],
  ): Promise<RefreshResult> {
    const name = entry.spec.name;
    const previousEntries = entry.content?.entries ?? 0;
    switch (evaluation.kind) {
      case 'unchanged': {
        noteSuccess(entry, log);
        const changedValidators =
          validators.etag !== entry.validators.etag || validators.lastModified !== entry.validators.lastModified;
        entry.validators = validators;
        if (changedValidators && entry.source.kind === 'url' && entry.content !== undefined)
          await saveCopy(entry, entry.content.parsed, evaluation.sha256);
        return { name, outcome: 'unchanged', entries: previousEntries, previousEntries };
      }
      case 'rejected':
        entry.rejected = { sha256: evaluation.sha256, message: evaluation.message };
        entry.lastError = evaluation.message;
        log.warn(
          { list: name, source: entry.spec.source, reason: evaluation.message },
          'blocklist update rejected; keeping the previous entries',
        );
        return { name, outcome: 'rejected', entries: previousEntries, previousEntries, message: evaluation.message };
      case 'accepted': {
        // A copy from disk says nothing about the source: its last error stands.
        if (from === 'source') noteSuccess(entry, log);
        // The copy is written while the matcher builds; a crash in between restarts from the older copy.
        const saved =
          from === 'source' && entry.source.kind === 'url'
            ? saveCopy(entry, evaluation.parsed, evaluation.sha256, validators)
            : undefined;
        const { parsed, sha256, entries } = evaluation;
        const before = entry.content?.parsed;
        entry.content = { parsed, sha256, entries, loadedFrom: from };
        entry.validators = validators;
        entry.rejected = undefined;
        log.info({ list: name, entries, previous: previousEntries, skipped: parsed.skipped, from }, 'blocklist loaded');
        if (!table.loadingAtStart) {
          await swapper.rebuild();
          if (options.onNamesAdded !== undefined) reportAdded(options.onNamesAdded, name, before, parsed);
        }
        await saved;
        return { name, outcome: 'updated', entries, previousEntries };
      }
    }
  }

  function reportAdded(sink: AddedNamesSink, name: string, before: ParsedList | undefined, parsed: ParsedList): void {
    const added = addedNames(before, parsed);
    if (added.total === 0) return;
    if (added.total > added.names.length)
      log.warn(
        { list: name, gained: added.total, hunted: added.names.length },
        'list gained more names than one retro-hunt searches; the rest are not searched',
      );
    try {
      sink(name, added);
    } catch (err: unknown) {
      log.warn({ list: name, err: errorMessage(err) }, 'names a list gained not handed on');
    }
  }

  async function saveCopy(
    entry: ListEntry,
    parsed: ParsedList,
    sha256: string,
    validators: Validators = entry.validators,
  ): Promise<void> {
    try {
      const copy = await normalizedCopy(parsed, createSlicer(sliceMs));
      const meta = { source: entry.spec.source, sha256, copySha256: copy.sha256, validators, savedMs: clock() };
      await cache.write(entry.spec.name, copy.text, meta);
    } catch (err: unknown) {
      log.warn(
        { list: entry.spec.name, err: errorMessage(err) },
        'last known good copy not saved; the list is in use but will not survive a restart offline',
      );
    }
  }

  async function runRefresh(entry: ListEntry, force: boolean): Promise<RefreshResult> {
    const generation = entry.generation;
    const name = entry.spec.name;
    const previousEntries = entry.content?.entries ?? 0;
    const changed = (): RefreshResult => ({
      name,
      outcome: 'failed',
      entries: previousEntries,
      previousEntries,
      message: 'the list was changed or removed during the refresh',
    });
    entry.lastFetchMs = clock();
    let result: RefreshResult;
    try {
      // Forced refreshes download afresh: the copy we hold may be the very thing being overridden.
      const conditional = !force && entry.content !== undefined ? entry.validators : {};
      const retrieved = await retrieveList(entry.source, conditional, access(entry.origin));
      if (isSuperseded(entry, generation)) return changed();
      if (retrieved.kind === 'not-modified') {
        noteSuccess(entry, log);
        result = { name, outcome: 'unchanged', entries: previousEntries, previousEntries };
      } else {
        entry.fileStamp = retrieved.fileStamp;
        const slicer = createSlicer(sliceMs);
        const evaluation = await evaluateList(retrieved.body, entry.spec, baselineOf(entry), force, slicer);
        if (isSuperseded(entry, generation)) return changed();
        result = await apply(entry, evaluation, retrieved.validators, 'source');
        if (result.outcome === 'updated') entry.lastChangeMs = retrieved.fileMtimeMs ?? clock();
      }
    } catch (err: unknown) {
      if (isSuperseded(entry, generation)) return changed();
      if (entry.source.kind === 'file') entry.fileStamp = await fileStamp(entry.source.path);
      const message = reportedMessage(err, entry.origin);
      noteFailure(entry, message, log, errorMessage(err));
      result = { name, outcome: 'failed', entries: previousEntries, previousEntries, message };
    }
    persistState(entry, store, log);
    const failureStreak = result.outcome === 'failed' ? entry.failureStreak : 0;
    scheduling.scheduleRefresh(entry, nextRefreshDelayMs(entry.spec.refreshSec, failureStreak, random()));
    return result;
  }

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

  async function loadLocal(entry: ListEntry): Promise<RefreshResult | undefined> {
    const name = entry.spec.name;
    const generation = entry.generation;
    if (entry.source.kind === 'file') return refreshEntry(entry, false);
    try {
      const copy = await cache.read(name);
      if (copy === undefined || isSuperseded(entry, generation)) return undefined;
      const meta = copy.meta;
      // A normalized copy is in the domains format; one written verbatim by an older version, in the list's own.
      const normalized = meta?.copySha256 !== undefined;
      const spec: ListSpec = normalized ? { ...entry.spec, format: 'domains' } : entry.spec;
      const evaluation = await evaluateList(copy.body, spec, {}, false, createSlicer(sliceMs));
      if (isSuperseded(entry, generation)) return undefined;
      // Validators only go back to the source they came from, and only with the text they describe.
      const intact = meta !== undefined && (normalized ? meta.copySha256 : meta.sha256) === evaluation.sha256;
      const validators = intact && meta.source === entry.spec.source ? meta.validators : {};
      if (evaluation.kind === 'accepted') {
        // The source's hash, so that an identical download is "unchanged" (no rebuild).
        const sha256 = intact ? meta.sha256 : evaluation.sha256;
        await apply(entry, { ...evaluation, sha256 }, validators, 'last-known-good');
        entry.lastChangeMs ??= meta?.savedMs;
      } else if (evaluation.kind === 'rejected') {
        log.warn({ list: name, reason: evaluation.message }, 'last known good copy not usable');
      }
    } catch (err: unknown) {
      log.warn({ list: name, err: errorMessage(err) }, 'last known good copy not loaded');
    }
    return undefined;
  }

  async function loadCandidate(spec: ListSpec, force = false): Promise<Candidate> {
    const source = listSourceOf(spec.source, baseDir);
    let retrieved: Extract<Retrieved, { kind: 'content' }>;
    // Always the source: the copy on disk is the normalized list, which another format cannot reparse.
    const from: ListContent['loadedFrom'] = 'source';
    try {
      const fresh = await retrieveList(source, {}, access('runtime'));
      // The fetcher refuses a 304 to an unconditional request.
      if (fresh.kind !== 'content') throw new PoolsinkError('ERR_LIST_FETCH', '304 to an unconditional request');
      retrieved = fresh;
    } catch (err: unknown) {
      const code = isPoolsinkError(err) ? err.code : 'ERR_LIST_FETCH';
      if (code === 'ERR_LIST_FETCH')
        log.warn(
          { list: spec.name, source: spec.source, err: errorMessage(err) },
          'list source from the API not fetched',
        );
      const message = `list "${spec.name}" not loaded: ${reportedMessage(err, 'runtime')}`;
      throw new PoolsinkError(code, message, code === 'ERR_LIST_FETCH' ? {} : { cause: err });
    }
    const evaluation = await evaluateList(retrieved.body, spec, {}, force, createSlicer(sliceMs));
    if (evaluation.kind !== 'accepted') {
      const message = evaluation.kind === 'rejected' ? evaluation.message : 'unchanged';
      throw new PoolsinkError('ERR_LIST_REJECTED', `list "${spec.name}" not loaded: ${message}`);
    }
    return { evaluation, retrieved, from };
  }

  async function commitCandidate(entry: ListEntry, candidate: Candidate): Promise<void> {
    entry.generation++; // a refresh of what the list was before is dropped
    entry.source = listSourceOf(entry.spec.source, baseDir);
    entry.content = undefined;
    entry.rejected = undefined;
    entry.failureStreak = 0;
    entry.lastError = undefined;
    entry.fileStamp = candidate.retrieved.fileStamp;
    entry.lastFetchMs = clock();
    const { evaluation, retrieved, from } = candidate;
    await apply(entry, evaluation, retrieved.validators, from);
    entry.lastChangeMs = retrieved.fileMtimeMs ?? clock();
    persistState(entry, store, log);
    scheduling.scheduleRefresh(entry, nextRefreshDelayMs(entry.spec.refreshSec, 0, random()));
  }

  return { refreshEntry, loadLocal, loadCandidate, commitCandidate };
}
