/**
 * When each list is refreshed: a timer per URL list (jittered period, backoff after failures, see
 * refresh-timing.ts) and one stat poll for file lists, which sees editors that write a new file
 * and rename it over the old one. Timers exist only between start and stop.
 */
import type { Logger } from 'pino';
import type { ListEntry, ListTable } from './list-entry.js';
import type { RefreshResult } from './list-api.js';
import { firstRefreshDelayMs } from './refresh-timing.js';
import type { Scheduler, TimerHandle } from './scheduler.js';
import { fileStamp } from './update.js';

export const DEFAULT_FILE_POLL_MS = 2000;

export interface RefreshSchedulingOptions {
  readonly table: ListTable;
  readonly scheduler: Scheduler;
  readonly clock: () => number;
  readonly random: () => number;
  readonly log: Logger;
  /** How often file sources are checked for changes; 0 turns it off. */
  readonly filePollMs: number;
  /** Runs an unforced refresh of one list (the refresh pipeline's). */
  readonly refresh: (entry: ListEntry) => Promise<RefreshResult>;
}

export interface RefreshScheduling {
  /** Replaces the list's timer with one due in `delayMs`; none for file lists, before start or after stop. */
  scheduleRefresh(entry: ListEntry, delayMs: number): void;
  /** First refresh after start: when the last one (before the restart) says it is due. */
  scheduleFirst(entry: ListEntry): void;
  /** Checks file lists every filePollMs from now on (once started; again after each pass). */
  schedulePoll(): void;
  /** Cancels the file poll and every list's timer. */
  cancelAll(): void;
}

export function createRefreshScheduling(options: RefreshSchedulingOptions): RefreshScheduling {
  const { table, scheduler, clock, random, log, filePollMs, refresh } = options;
  let pollTimer: TimerHandle | undefined;

  function scheduleRefresh(entry: ListEntry, delayMs: number): void {
    entry.timer?.cancel();
    entry.timer = undefined;
    entry.nextRefreshMs = undefined;
    if (table.stopped || !table.started || entry.removed || entry.source.kind !== 'url') return;
    const delay = Math.max(0, Math.round(delayMs));
    entry.nextRefreshMs = clock() + delay;
    entry.timer = scheduler.schedule(delay, () => {
      entry.timer = undefined;
      entry.nextRefreshMs = undefined;
      refresh(entry).catch((err: unknown) => log.error({ err, list: entry.spec.name }, 'scheduled refresh failed'));
    });
  }

  function scheduleFirst(entry: ListEntry): void {
    const last = {
      loaded: entry.content !== undefined,
      lastFetchMs: entry.lastFetchMs,
      lastFailed: entry.lastError !== undefined,
    };
    scheduleRefresh(entry, firstRefreshDelayMs(entry.spec.refreshSec, last, clock(), random()));
  }

  async function pollFiles(): Promise<void> {
    pollTimer = undefined;
    for (const entry of table.entries) {
      if (table.stopped || entry.source.kind !== 'file' || entry.running !== undefined) continue;
      const stamp = await fileStamp(entry.source.path);
      if (stamp !== entry.fileStamp && !entry.removed) {
        log.info({ list: entry.spec.name, path: entry.source.path }, 'blocklist file changed');
        await refresh(entry);
      }
    }
    schedulePoll();
  }

  function schedulePoll(): void {
    if (table.stopped || filePollMs <= 0 || pollTimer !== undefined) return;
    pollTimer = scheduler.schedule(filePollMs, () => {
      pollFiles().catch((err: unknown) => log.error({ err }, 'checking blocklist files failed'));
    });
  }

  return {
    scheduleRefresh,
    scheduleFirst,
    schedulePoll,
    cancelAll() {
      pollTimer?.cancel();
      for (const entry of table.entries) entry.timer?.cancel();
    },
  };
}
