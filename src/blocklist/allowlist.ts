/**
 * The allowlist: entries from the configuration file (read-only) and entries added over the API
 * (persisted in the database, shown with origin `runtime`). Names are stored normalized (lower
 * case, no trailing dot, no `*.`); each covers itself and its subdomains.
 */
import { PoolsinkError } from '../errors.js';
import { allowlistName } from './definition.js';
import type { ListRecords } from '../store/list-store.js';
import type { AllowlistEntry } from './list-api.js';

export interface Allowlist {
  /** Every name, configuration file first. */
  names(): string[];
  entries(): readonly AllowlistEntry[];
  /**
   * Replaces the configuration file's entries (a reload); runtime entries stay. True when the set
   * changed. A runtime entry the file now names too is shown once, as the file's.
   */
  setConfigEntries(configEntries: readonly string[]): boolean;
  /** Loads the runtime entries saved in the database. */
  restore(): void;
  /** Persists, then adds. Rejects with ERR_INVALID (not a name) or ERR_CONFLICT (already there, or being added). */
  add(input: string, createdMs: number): Promise<AllowlistEntry>;
  /** Persists, then removes. Rejects with ERR_INVALID, ERR_CONFLICT (from the configuration file) or ERR_NOT_FOUND. */
  remove(input: string): Promise<string>;
}

export function createAllowlist(configEntries: readonly string[], store: ListRecords): Allowlist {
  let fromConfig = new Set(configEntries.map((entry) => allowlistName(entry)));
  const runtimeOnly = (): string[] => [...runtime.keys()].filter((domain) => !fromConfig.has(domain));
  const runtime = new Map<string, number>();
  /** Names whose insert or delete is being written: another change to one meanwhile is refused. */
  const changing = new Set<string>();

  return {
    names: () => [...fromConfig, ...runtimeOnly()],
    entries: () => [
      ...[...fromConfig].map((domain): AllowlistEntry => ({ domain, origin: 'config' })),
      ...runtimeOnly().map((domain): AllowlistEntry => ({ domain, origin: 'runtime' })),
    ],
    setConfigEntries(next) {
      const names = new Set(next.map((entry) => allowlistName(entry)));
      const same = names.size === fromConfig.size && [...names].every((domain) => fromConfig.has(domain));
      fromConfig = names;
      return !same;
    },
    restore() {
      for (const row of store.runtimeAllowlist()) {
        if (!fromConfig.has(row.domain)) runtime.set(row.domain, row.createdMs);
      }
    },
    async add(input, createdMs) {
      const domain = allowlistName(input);
      if (fromConfig.has(domain))
        throw new PoolsinkError('ERR_CONFLICT', `${domain} is already in the configuration file's allowlist`);
      if (runtime.has(domain)) throw new PoolsinkError('ERR_CONFLICT', `${domain} is already in the allowlist`);
      if (changing.has(domain))
        throw new PoolsinkError('ERR_CONFLICT', `${domain} is being changed by another request`);
      changing.add(domain);
      try {
        await store.insertAllowed({ domain, createdMs });
      } finally {
        changing.delete(domain);
      }
      runtime.set(domain, createdMs);
      return { domain, origin: 'runtime' };
    },
    async remove(input) {
      const domain = allowlistName(input);
      if (fromConfig.has(domain))
        throw new PoolsinkError('ERR_CONFLICT', `${domain} is in the configuration file's allowlist: remove it there`);
      if (!runtime.has(domain)) throw new PoolsinkError('ERR_NOT_FOUND', `${domain} is not in the allowlist`);
      if (changing.has(domain))
        throw new PoolsinkError('ERR_CONFLICT', `${domain} is being changed by another request`);
      changing.add(domain);
      try {
        await store.deleteAllowed(domain);
      } finally {
        changing.delete(domain);
      }
      runtime.delete(domain);
      return domain;
    },
  };
}
