/**
 * Retro-hunts on the DNS thread's side: the names a list gained (the list manager's onNamesAdded)
 * and the API's on-demand hunts, both searched in the query history by the writer thread
 * (store/history-worker.ts), which also opens the retro incidents and their notifications. With
 * the history off, list changes hunt nothing and an on-demand hunt is refused (ERR_CONFLICT).
 */
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import type { AddedNamesSink } from '../blocklist/added-names.js';
import { ON_DEMAND_LIST, type RetroHuntRequest, type RetroHuntResult } from '../store/history-protocol.js';

export interface RetroHuntTarget {
  retroHunt(request: RetroHuntRequest): Promise<RetroHuntResult>;
}

export interface OnDemandHunt {
  readonly names: readonly string[];
  readonly sinceMs?: number;
  readonly record: boolean;
}

export interface RetroHunts {
  /** An on-demand hunt (POST /api/v1/retro-hunt, `poolsink retro-hunt`); ERR_CONFLICT when the history is off. */
  hunt(request: OnDemandHunt): Promise<RetroHuntResult>;
  /** For the list manager: hunts the names a list gained and records what it finds. */
  readonly namesAdded: AddedNamesSink;
}

export interface RetroHuntsOptions {
  /** history.enabled */
  readonly enabled: boolean;
  readonly writer: RetroHuntTarget;
  readonly log: Logger;
}

export const HISTORY_OFF_MESSAGE =
  'the query history is off (history.enabled is false): there is nothing to hunt in; set history.enabled: true and restart';

export function createRetroHunts(options: RetroHuntsOptions): RetroHunts {
  const { enabled, writer, log } = options;
  return {
    hunt(request) {
      if (!enabled) return Promise.reject(new PoolsinkError('ERR_CONFLICT', HISTORY_OFF_MESSAGE));
      return writer.retroHunt({ ...request, list: ON_DEMAND_LIST });
    },
    namesAdded(list, added) {
      if (!enabled) return;
      writer.retroHunt({ names: added.names, record: true, list }).then(
        (result) => {
          if (result.truncated)
            log.warn(
              { list, rowsRead: result.rowsRead },
              'retro-hunt read as many history rows as it may; some not read',
            );
        },
        (err: unknown) => log.warn({ list, err: errorMessage(err) }, 'retro-hunt for names a list gained failed'),
      );
    },
  };
}
