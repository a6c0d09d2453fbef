/**
 * The block log's writer thread, configured from database.*, incidents.*, notify and history.*.
 * The writer and pruner run in a worker thread with their own connection, so SQLite work never
 * pauses DNS answers.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { incidentSettings } from '../incidents/incident-settings.js';
import type { StoreConnection } from '../store/database.js';
import { startWriterThread, type WriterThread } from '../store/writer-thread.js';
import type { StartedResources } from '../started-resources.js';

export async function startBlockLogWriter(
  config: Config,
  parts: {
    store: StoreConnection;
    log: Logger;
    resources: StartedResources;
    clock: (() => number) | undefined;
    /** Clients the writer's identity snapshot lacks (host identity looks them up). */
    onIdentityMisses: (clientIps: readonly string[]) => void;
  },
): Promise<WriterThread> {
  const { store, log, clock } = parts;
  const writer = await startWriterThread({
    onIdentityMisses: parts.onIdentityMisses,
    path: store.path,
    log,
    retentionDays: config.database.retentionDays,
    maxEvents: config.database.maxEvents,
    maxNamesPerHost: config.database.maxNamesPerHost,
    flushIntervalMs: config.database.flushIntervalMs,
    maxBuffered: config.database.maxBufferedEvents,
    coalesceWindowMs: config.database.coalesceWindowMs,
    // incidents.enabled false: the writer keeps the block log only (no tracker).
    // With a fleet PostgreSQL, incidents are notified centrally (src/central/), not per instance.
    ...(config.incidents.enabled
      ? { incidents: { ...incidentSettings(config), notify: config.central.postgres === undefined } }
      : {}),
    onReopened: () => {
      if (store.fileReplaced()) store.reopen();
    },
    ...(clock !== undefined ? { clock } : {}),
    notify: config.notify,
    ...(config.history.enabled ? { history: config.history } : {}),
  });
  // Closing writes everything buffered, stops the pruner and ends the writer thread.
  parts.resources.add('writer thread', async () => {
    writer.close();
    await writer.exited;
  });
  return writer;
}
