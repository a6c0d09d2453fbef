/**
 * The blocklists: the list manager configured from blocklists, allowlist and lists.*, its records
 * read from SQLite at start and written by the writer thread; and the list.failing watch.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { AddedNamesSink } from '../blocklist/added-names.js';
import type { IpListInput } from '../blocklist/ip-blocklist.js';
import { createListManager, type ListManager } from '../blocklist/list-manager.js';
import type { DomainMatcher } from '../blocklist/matcher.js';
import { createListWatch } from '../notify/list-watch.js';
import type { StoreConnection } from '../store/database.js';
import { createListStore, listRecordsVia } from '../store/list-store.js';
import type { WriterThread } from '../store/writer-thread.js';
import type { StartedResources } from '../started-resources.js';

/** Creates the list manager and starts it (its stop is added before the start, so a start failing halfway still stops). */
export async function startLists(
  config: Config,
  parts: {
    store: StoreConnection;
    writer: WriterThread;
    log: Logger;
    resources: StartedResources;
    onMatcher: (matcher: DomainMatcher) => void;
    onNamesAdded: AddedNamesSink;
    onIpLists: (ipLists: readonly IpListInput[]) => void;
  },
): Promise<ListManager> {
  const { writer } = parts;
  const lists = createListManager({
    lists: config.blocklists,
    allowlist: config.allowlist,
    baseDir: config.baseDir,
    dataDir: config.dataDir,
    // Read here at start; written by the writer thread, so a write never waits on this thread.
    store: listRecordsVia(createListStore(parts.store), (write) => writer.writeListStore(write)),
    log: parts.log.child({ component: 'lists' }),
    onMatcher: parts.onMatcher,
    onNamesAdded: parts.onNamesAdded,
    onIpLists: parts.onIpLists,
    fetch: { allowPrivateSources: config.lists.allowPrivateSources },
    ...(config.lists.fileSourceDir !== undefined ? { fileSourceDir: config.lists.fileSourceDir } : {}),
  });
  parts.resources.add('lists', () => lists.stop());
  await lists.start();
  return lists;
}

/**
 * list.failing (when notify has sinks): a look at the lists once a minute, off the query path; the
 * outbox is in the writer thread.
 */
export function watchFailingLists(
  config: Config,
  parts: {
    lists: ListManager;
    writer: WriterThread;
    resources: StartedResources;
    clock: (() => number) | undefined;
  },
): void {
  if (config.notify.length === 0) return;
  const { lists, writer, clock } = parts;
  const listWatch = createListWatch({
    lists: () => lists.lists(),
    onFailing: (list, sinceMs, atMs) =>
      writer.notify({
        type: 'list.failing',
        atMs,
        payload: {
          list: list.name,
          source: list.source,
          lastError: list.lastError,
          failingSince: new Date(sinceMs).toISOString(),
        },
      }),
    ...(clock !== undefined ? { clock } : {}),
  });
  listWatch.start();
  parts.resources.add('list watch', () => listWatch.stop());
}
