/**
 * The changes the admin API (and CLI) ask of the list manager: add, update and remove runtime
 * lists, refresh on demand, add and remove allowlist entries. Each change persists before it
 * resolves; a list that fails to load is never added, and a failed update leaves the list as it
 * was. Lists from the configuration file are read-only here except for refresh.
 */
import { PoolsinkError, errorMessage } from '../errors.js';
import type { Allowlist } from './allowlist.js';
import { applyPatch, specFromDefinition } from './definition.js';
import type { AllowlistEntry, ListDefinition, ListInfo, ListPatch, RefreshResult } from './list-api.js';
import { findEntry, listInfo, newListEntry, type ListContext, type ListEntry } from './list-entry.js';
import type { RefreshPipeline } from './refresh-pipeline.js';
import type { RefreshScheduling } from './refresh-scheduling.js';
import { nextRefreshDelayMs } from './refresh-timing.js';
import type { MatcherSwapper } from './swapper.js';

export interface ListChangesOptions extends ListContext {
  readonly allowlist: Allowlist;
  readonly swapper: MatcherSwapper;
  readonly scheduling: RefreshScheduling;
  readonly pipeline: RefreshPipeline;
}

export interface ListChanges {
  addList(definition: ListDefinition, options?: { readonly force?: boolean }): Promise<ListInfo>;
  updateList(name: string, patch: ListPatch): Promise<ListInfo>;
  removeList(name: string): Promise<void>;
  refresh(name: string | undefined, options: { force: boolean }): Promise<readonly RefreshResult[]>;
  allow(domain: string): Promise<AllowlistEntry>;
  unallow(domain: string): Promise<void>;
}

function notFound(name: string): PoolsinkError {
  return new PoolsinkError('ERR_NOT_FOUND', `no list named "${name}"`);
}

function readOnly(name: string): PoolsinkError {
  return new PoolsinkError(
    'ERR_CONFLICT',
    `list "${name}" comes from the configuration file: change it there (only refresh works over the API)`,
  );
}

export function createListChanges(options: ListChangesOptions): ListChanges {
  const { table, store, log, clock, random, baseDir, cache, allowlist, swapper, scheduling, pipeline } = options;

  function runtimeEntry(name: string): ListEntry {
    const entry = findEntry(table, name);
    if (entry === undefined) throw notFound(name);
    if (entry.origin === 'config') throw readOnly(name);
    return entry;
  }

  async function addList(definition: ListDefinition, addOptions: { readonly force?: boolean } = {}): Promise<ListInfo> {
    const spec = specFromDefinition(definition);
    const conflict = (): PoolsinkError =>
      new PoolsinkError('ERR_CONFLICT', `a list named "${spec.name}" already exists`);
    if (findEntry(table, spec.name) !== undefined) throw conflict();
    // A list is added only once it loads; this is its one fetch (the next is refreshSec away).
    const candidate = await pipeline.loadCandidate(spec, addOptions.force === true);
    if (findEntry(table, spec.name) !== undefined) throw conflict(); // added by another call meanwhile
    const createdMs = clock();
    await store.insertRuntimeList({ ...spec, createdMs });
    const entry = newListEntry(spec, 'runtime', createdMs, baseDir);
    table.entries.push(entry);
    await pipeline.commitCandidate(entry, candidate);
    return listInfo(entry);
  }

  async function updateList(name: string, patch: ListPatch): Promise<ListInfo> {
    const entry = runtimeEntry(name);
    const before = entry.spec;
    const spec = applyPatch(before, patch);
    const sourceChanged = spec.source !== before.source;
    // A new source or format must load before anything changes: a failed PATCH leaves the list as it was.
    const candidate = sourceChanged || spec.format !== before.format ? await pipeline.loadCandidate(spec) : undefined;
    if (entry.removed) throw notFound(name);
    await store.updateRuntimeList({ ...spec, createdMs: entry.createdMs });
    if (entry.removed) throw notFound(name); // removed while the update was written
    entry.spec = spec;
    if (candidate !== undefined) {
      await pipeline.commitCandidate(entry, candidate);
      return listInfo(entry);
    }
    if (spec.mode !== before.mode) await swapper.rebuild();
    if (spec.refreshSec !== before.refreshSec && entry.running === undefined) {
      const sinceLastMs = entry.lastFetchMs === undefined ? Infinity : clock() - entry.lastFetchMs;
      scheduling.scheduleRefresh(entry, Math.max(0, nextRefreshDelayMs(spec.refreshSec, 0, random()) - sinceLastMs));
    }
    return listInfo(entry);
  }

  async function removeList(name: string): Promise<void> {
    const entry = runtimeEntry(name);
    // Gone from the manager first, so nothing finds it (or saves state for it) while the delete is
    // written; put back if the delete fails.
    const index = table.entries.indexOf(entry);
    table.entries.splice(index, 1);
    entry.removed = true;
    try {
      await store.deleteRuntimeList(name);
    } catch (err: unknown) {
      entry.removed = false;
      table.entries.splice(Math.min(index, table.entries.length), 0, entry);
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

  async function refresh(
    name: string | undefined,
    refreshOptions: { force: boolean },
  ): Promise<readonly RefreshResult[]> {
    if (name !== undefined) {
      const entry = findEntry(table, name);
      if (entry === undefined) throw notFound(name);
      return [await pipeline.refreshEntry(entry, refreshOptions.force)];
    }
    return Promise.all(table.entries.map((entry) => pipeline.refreshEntry(entry, refreshOptions.force)));
  }

  async function allow(input: string): Promise<AllowlistEntry> {
    const entry = await allowlist.add(input, clock());
    swapper.swapAllowlist();
    log.info({ domain: entry.domain }, 'allowlist entry added');
    return entry;
  }

  async function unallow(input: string): Promise<void> {
    const domain = await allowlist.remove(input);
    swapper.swapAllowlist();
    log.info({ domain }, 'allowlist entry removed');
  }

  return { addList, updateList, removeList, refresh, allow, unallow };
}
