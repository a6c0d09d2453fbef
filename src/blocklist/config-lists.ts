/**
 * A configuration reload, as the list manager sees it: the configuration file's lists and allowlist
 * replaced by a new set. Lists added over the API (origin `runtime`) and runtime allowlist entries
 * are never touched. A new or re-sourced list loads what is on this machine (the file, or the last
 * known good copy) and then refreshes as at start; a removed one is dropped with its timer and
 * copy; a list whose mode or refresh interval changed keeps its entries. One rebuild at the end.
 */
import { isDeepStrictEqual } from 'node:util';
import { errorMessage } from '../errors.js';
import type { Allowlist } from './allowlist.js';
import type { ListSpec } from './definition.js';
import { findEntry, newListEntry, type ListContext, type ListEntry } from './list-entry.js';
import type { RefreshPipeline } from './refresh-pipeline.js';
import type { RefreshScheduling } from './refresh-scheduling.js';
import type { MatcherSwapper } from './swapper.js';

export interface ConfigListsOptions extends ListContext {
  readonly allowlist: Allowlist;
  readonly swapper: MatcherSwapper;
  readonly scheduling: RefreshScheduling;
  readonly pipeline: RefreshPipeline;
}

/** What a reload changed, by list name. */
export interface ConfigListsChange {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly allowlistChanged: boolean;
}

export interface ConfigLists {
  /** Makes `lists` and `allowlist` the configuration file's; resolves once the new matcher is in use. */
  applyConfig(lists: readonly ListSpec[], allowlist: readonly string[]): Promise<ConfigListsChange>;
}

export function createConfigLists(options: ConfigListsOptions): ConfigLists {
  const { table, log, baseDir, cache, allowlist, swapper, scheduling, pipeline } = options;

  function drop(entry: ListEntry): void {
    entry.removed = true;
    entry.generation++;
    entry.timer?.cancel();
    entry.timer = undefined;
  }

  async function removeCopy(name: string): Promise<void> {
    try {
      await cache.remove(name);
    } catch (err: unknown) {
      log.warn({ list: name, err: errorMessage(err) }, 'last known good copy of a replaced list not deleted');
    }
  }

  async function load(entry: ListEntry): Promise<void> {
    await pipeline.loadLocal(entry);
    if (entry.source.kind === 'url') scheduling.scheduleFirst(entry);
  }

  async function applyConfig(specs: readonly ListSpec[], allowed: readonly string[]): Promise<ConfigListsChange> {
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    const wanted = new Set(specs.map((spec) => spec.name));
    for (const entry of [...table.entries]) {
      if (entry.origin !== 'config' || wanted.has(entry.spec.name)) continue;
      table.entries.splice(table.entries.indexOf(entry), 1);
      drop(entry);
      removed.push(entry.spec.name);
      await removeCopy(entry.spec.name);
    }
    const toLoad: ListEntry[] = [];
    let rebuild = removed.length > 0;
    for (const spec of specs) {
      const entry = findEntry(table, spec.name);
      if (entry !== undefined && entry.origin === 'runtime') {
        log.warn(
          { list: spec.name },
          'a list added over the API has the name of a list in the configuration file; the API list stays until a restart',
        );
        continue;
      }
      if (entry === undefined) {
        const fresh = newListEntry(spec, 'config', 0, baseDir);
        table.entries.push(fresh);
        toLoad.push(fresh);
        added.push(spec.name);
      } else if (spec.source !== entry.spec.source || spec.format !== entry.spec.format) {
        // A new source or format is a new list under the same name: work begun for the old one is dropped.
        const fresh = newListEntry(spec, 'config', 0, baseDir);
        table.entries.splice(table.entries.indexOf(entry), 1, fresh);
        drop(entry);
        // The last known good copy is the old source's: never the new list's content.
        if (spec.source !== entry.spec.source) await removeCopy(spec.name);
        toLoad.push(fresh);
        changed.push(spec.name);
      } else if (!isDeepStrictEqual(spec, entry.spec)) {
        const before = entry.spec;
        entry.spec = spec;
        if (spec.mode !== before.mode) rebuild = true;
        if (spec.refreshSec !== before.refreshSec && entry.running === undefined) scheduling.scheduleFirst(entry);
        changed.push(spec.name);
      }
    }
    // Loading several lists: one build at the end, as at start.
    table.loadingAtStart = true;
    try {
      for (const entry of toLoad) await load(entry);
    } finally {
      table.loadingAtStart = false;
    }
    const allowlistChanged = allowlist.setConfigEntries(allowed);
    if (rebuild || toLoad.length > 0) await swapper.rebuild();
    else if (allowlistChanged) swapper.swapAllowlist();
    return { added, changed, removed, allowlistChanged };
  }

  return { applyConfig };
}
