/**
 * Builds the lists snapshot the resolver matches against: every configured list loaded, merged
 * into one matcher with the allowlist. A list that cannot be read is reported and left out, so
 * poolsink still serves (and still blocks with the lists that did load).
 *
 * All at once and without fetching: for `poolsink check` and tests. The server uses the list
 * manager (list-manager.ts), which also refreshes, keeps runtime lists and swaps without stalling.
 * A URL source is read from the manager's last known good copy under `dataDir` when one exists.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { PoolsinkError, errorMessage } from '../errors.js';
import { listSourceOf, loadListFile, loadedList, type ListSourceConfig, type LoadedList } from './list-source.js';
import { createMatcher, type DomainMatcher } from './matcher.js';
import { parseList } from './parse.js';
import { createSourceCache } from './source-cache.js';

export interface ListStatus {
  readonly name: string;
  readonly source: string;
  readonly format: string;
  readonly mode: 'block' | 'alert';
  readonly entries: number;
  readonly skipped: number;
  readonly skippedByReason: Readonly<Record<string, number>>;
  readonly error?: string;
}

export interface ListsSnapshot {
  readonly matcher: DomainMatcher;
  readonly lists: readonly ListStatus[];
}

type SnapshotConfig = Pick<Config, 'blocklists' | 'allowlist' | 'baseDir'> & Partial<Pick<Config, 'dataDir'>>;

/** A URL list from its last known good copy; any other list from its file. Throws ERR_LIST_READ. */
async function loadList(cfg: ListSourceConfig, config: SnapshotConfig): Promise<LoadedList> {
  const source = listSourceOf(cfg.source, config.baseDir);
  if (source.kind !== 'url' || config.dataDir === undefined) return loadListFile(cfg, config.baseDir);
  const dir = join(config.dataDir, 'lists');
  const copy = await createSourceCache({ dir }).read(cfg.name);
  if (copy === undefined) {
    throw new PoolsinkError(
      'ERR_LIST_READ',
      `blocklist "${cfg.name}": no downloaded copy of ${source.url} in ${dir} yet (the server downloads it)`,
    );
  }
  return loadedList(cfg, parseList(copy.body.toString('utf8'), cfg.format));
}

export async function loadLists(config: SnapshotConfig, log: Logger): Promise<ListsSnapshot> {
  const results = await Promise.all(
    config.blocklists.map(async (cfg): Promise<LoadedList | ListStatus> => {
      try {
        return await loadList(cfg, config);
      } catch (err: unknown) {
        log.warn({ list: cfg.name, source: cfg.source, err: errorMessage(err) }, 'blocklist not loaded');
        return {
          name: cfg.name,
          source: cfg.source,
          format: cfg.format,
          mode: cfg.mode,
          entries: 0,
          skipped: 0,
          skippedByReason: {},
          error: errorMessage(err),
        };
      }
    }),
  );
  const loaded = results.filter((result): result is LoadedList => 'domains' in result);
  const matcher = createMatcher(
    loaded.map((list) => ({ name: list.name, mode: list.mode, domains: list.domains, wildcards: list.wildcards })),
    config.allowlist,
  );
  const lists = results.map((result): ListStatus => {
    if (!('domains' in result)) return result;
    const { domains: _domains, wildcards: _wildcards, ...status } = result;
    return status;
  });
  return { matcher, lists };
}
