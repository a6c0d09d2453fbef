/**
 * The query history in the writer thread (writer-worker.ts hands it its messages): batches from the
 * DNS thread are written (query-history.ts), retro-hunts are searched and, when asked, recorded as
 * incidents (the incident tracker's recordRetro), and the retention pass prunes the table through
 * prune(). A failure is answered as a code and message, never thrown across the thread boundary.
 */
import type { Logger } from 'pino';
import { errorMessage, isPoolsinkError } from '../errors.js';
import type { IdentityLookup } from '../inventory/host-identity.js';
import type { StoreConnection } from './database.js';
import type { RetroClient, RetroHuntResult } from './history-protocol.js';
import { createQueryHistory } from './query-history.js';
import type { FromWriter, HistorySettings, ToWriter } from './writer-protocol.js';

/** What a retro-hunt needs of the incident tracker (incidents/incident-tracker.ts). */
export interface RetroRecorder {
  recordRetro(clients: readonly RetroClient[], list: string): number;
}

export interface WriterHistoryOptions {
  readonly connection: StoreConnection;
  readonly log: Logger;
  /** Absent: history is off (nothing is written; a hunt finds nothing). */
  readonly settings: HistorySettings | undefined;
  readonly incidents: RetroRecorder | undefined;
  readonly identityFor: IdentityLookup;
}

export type HistoryMessage = Extract<ToWriter, { kind: 'history' | 'retroHunt' }>;

export interface WriterHistory {
  handle(message: HistoryMessage, reply: (message: FromWriter) => void): void;
  /** One batch of pruning for the retention pass (retention.ts alsoPrune); absent when history is off. */
  readonly prune?: (nowMs: number) => number;
}

const PRUNE_BATCH = 2000;
const DAY_MS = 86_400_000;

export function createWriterHistory(options: WriterHistoryOptions): WriterHistory {
  const { connection, log, settings, incidents, identityFor } = options;
  const history = createQueryHistory(connection);
  let writeFailures = 0;

  function hunt(message: Extract<HistoryMessage, { kind: 'retroHunt' }>): RetroHuntResult {
    const { request } = message;
    const oldest = Date.now() - (settings?.retainDays ?? 0) * DAY_MS;
    const sinceMs = Math.max(request.sinceMs ?? oldest, oldest);
    const found = history.search(request.names, sinceMs);
    const clients = found.clients.map((client) => {
      const identity = identityFor(client.clientIp);
      return identity === undefined ? client : { ...client, identity };
    });
    const recorded = request.record && incidents !== undefined ? incidents.recordRetro(clients, request.list) : 0;
    if (clients.length > 0)
      log.info(
        { list: request.list, names: request.names.length, clients: clients.length, incidents: recorded },
        'retro-hunt: clients resolved names before they were listed',
      );
    return { clients, rowsRead: found.rowsRead, truncated: found.truncated, incidents: recorded };
  }

  return {
    handle(message, reply) {
      if (message.kind === 'history') {
        if (settings === undefined) return;
        try {
          history.write(message.batch);
        } catch (err: unknown) {
          writeFailures += 1;
          // One line per 100 failures: a broken disk must not become a log flood.
          if (writeFailures % 100 === 1)
            log.warn({ err: errorMessage(err), failures: writeFailures }, 'query history batch not written');
        }
        return;
      }
      try {
        reply({ kind: 'retroHunted', id: message.id, result: hunt(message) });
      } catch (err: unknown) {
        reply({
          kind: 'retroHunted',
          id: message.id,
          code: isPoolsinkError(err) ? err.code : 'ERR_STORE_WRITE',
          message: errorMessage(err),
        });
      }
    },
    ...(settings === undefined
      ? {}
      : {
          prune: (nowMs: number) =>
            history.pruneStep(nowMs, {
              retainDays: settings.retainDays,
              maxRows: settings.maxRows,
              batchSize: PRUNE_BATCH,
            }),
        }),
  };
}
