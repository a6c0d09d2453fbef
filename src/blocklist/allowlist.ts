/**
 * The allowlist: entries from the configuration file (read-only) and entries added over the API
 * (persisted in the database, shown with origin `runtime`). Names are stored normalized (lower
 * case, no trailing dot, no `*.`); each covers itself and its subdomains.
 */
import { PoolsinkError } from '../errors.js';
import { allowlistName } from './definition.js';
import type { ListStore } from './list-store.js';
import type { AllowlistEntry } from './management.js';

export interface Allowlist {
  /** Every name, configuration file first. */
  names(): string[];
  entries(): readonly AllowlistEntry[];
  /** Loads the runtime entries saved in the database. */
  restore(): void;
  /** Persists, then adds. Throws ERR_INVALID (not a name) or ERR_CONFLICT (already there). */
  add(input: string, createdMs: number): AllowlistEntry;
  /** Persists, then removes. Throws ERR_INVALID, ERR_CONFLICT (from the configuration file) or ERR_NOT_FOUND. */
  remove(input: string): string;
}

export function createAllowlist(configEntries: readonly string[], store: ListStore): Allowlist {
  const fromConfig = new Set(configEntries.map((entry) => allowlistName(entry)));
  const runtime = new Map<string, number>();

  return {
    names: () => [...fromConfig, ...runtime.keys()],
    entries: () => [
      ...[...fromConfig].map((domain): AllowlistEntry => ({ domain, origin: 'config' })),
      ...[...runtime.keys()].map((domain): AllowlistEntry => ({ domain, origin: 'runtime' })),
    ],
    restore() {
      for (const row of store.runtimeAllowlist()) {
        if (!fromConfig.has(row.domain)) runtime.set(row.domain, row.createdMs);
      }
    },
    add(input, createdMs) {
      const domain = allowlistName(input);
      if (fromConfig.has(domain)) throw new PoolsinkError('ERR_CONFLICT', `${domain} is already in the configuration file's allowlist`);
      if (runtime.has(domain)) throw new PoolsinkError('ERR_CONFLICT', `${domain} is already in the allowlist`);
      store.insertAllowed({ domain, createdMs });
      runtime.set(domain, createdMs);
      return { domain, origin: 'runtime' };
    },
    remove(input) {
      const domain = allowlistName(input);
      if (fromConfig.has(domain)) throw new PoolsinkError('ERR_CONFLICT', `${domain} is in the configuration file's allowlist: remove it there`);
      if (!runtime.has(domain)) throw new PoolsinkError('ERR_NOT_FOUND', `${domain} is not in the allowlist`);
      store.deleteAllowed(domain);
      runtime.delete(domain);
      return domain;
    },
  };
}
