/**
 * The contract for managing lists while poolsink runs: what the admin API and CLI call, implemented
 * by the list manager (src/blocklist/list-manager.ts).
 */
export type ListOrigin = 'config' | 'runtime';

export interface ListInfo {
  readonly name: string;
  readonly source: string;
  readonly format: 'auto' | 'hosts' | 'domains' | 'adblock' | 'ip';
  readonly mode: 'block' | 'alert';
  /** `config`: from the configuration file (read-only over the API); `runtime`: added over the API. */
  readonly origin: ListOrigin;
  readonly refreshSec: number;
  readonly maxShrinkPercent: number;
  /** Whether the pool-IP learner resolves its names (resolveForIps, or its default). */
  readonly resolveForIps: boolean;
  readonly entries: number;
  readonly skipped: number;
  readonly skippedByReason: Readonly<Record<string, number>>;
  /** Last fetch or file read attempt, ms since epoch. */
  readonly lastFetchMs?: number;
  /** Last time the loaded entries changed. */
  readonly lastChangeMs?: number;
  readonly lastError?: string;
  /** Where the current entries came from. */
  readonly loadedFrom?: 'source' | 'last-known-good';
}

export interface ListDefinition {
  readonly name: string;
  readonly source: string;
  readonly format?: ListInfo['format'];
  readonly mode?: ListInfo['mode'];
  readonly refreshSec?: number;
  readonly maxShrinkPercent?: number;
  /** Default: true for the list named mining-pools only. */
  readonly resolveForIps?: boolean;
}

export type ListPatch = Partial<Omit<ListDefinition, 'name'>>;

export interface RefreshResult {
  readonly name: string;
  /** updated: new entries swapped in; unchanged: 304 or same content; rejected: a guard refused it; failed: fetch/read error. */
  readonly outcome: 'updated' | 'unchanged' | 'rejected' | 'failed';
  readonly entries: number;
  readonly previousEntries: number;
  readonly message?: string;
}

export interface AllowlistEntry {
  readonly domain: string;
  readonly origin: ListOrigin;
}

/** Every method that changes state persists runtime changes before it resolves. Failures are PoolsinkErrors (ERR_LIST_*, ERR_NOT_FOUND, ERR_CONFLICT, ERR_INVALID). */
export interface ListManagement {
  lists(): readonly ListInfo[];
  /** `force`: add it even when the guards would refuse it (it parses to no entries). */
  addList(definition: ListDefinition, options?: { readonly force?: boolean }): Promise<ListInfo>;
  updateList(name: string, patch: ListPatch): Promise<ListInfo>;
  removeList(name: string): Promise<void>;
  refresh(name: string | undefined, options: { force: boolean }): Promise<readonly RefreshResult[]>;
  allowlist(): readonly AllowlistEntry[];
  allow(domain: string): Promise<AllowlistEntry>;
  unallow(domain: string): Promise<void>;
}
