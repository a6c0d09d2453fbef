/**
 * Builds the lists snapshot the resolver matches against: every configured list loaded, merged
 * into one matcher with the allowlist. A list that cannot be read is reported and left out, so
 * poolsink still serves (and still blocks with the lists that did load).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { loadListFile, type LoadedList } from './load.js';
import { createMatcher, type DomainMatcher } from './matcher.js';

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

export async function loadLists(config: Pick<Config, 'blocklists' | 'allowlist' | 'baseDir'>, log: Logger): Promise<ListsSnapshot> {
  const results = await Promise.all(
    config.blocklists.map(async (cfg): Promise<LoadedList | ListStatus> => {
      try {
        return await loadListFile(cfg, config.baseDir);
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
  const loaded = results.filter((r): r is LoadedList => 'domains' in r);
  const matcher = createMatcher(
    loaded.map((l) => ({ name: l.name, mode: l.mode, domains: l.domains, wildcards: l.wildcards })),
    config.allowlist,
  );
  const lists = results.map((r): ListStatus => {
    if (!('domains' in r)) return r;
    const { domains: _domains, wildcards: _wildcards, ...status } = r;
    return status;
  });
  return { matcher, lists };
}
