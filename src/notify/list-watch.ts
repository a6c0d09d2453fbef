/**
 * list.failing: a periodic look (on the DNS thread, once a minute: cheap, never per query) at the
 * list manager's state. A list whose refreshes have kept failing for longer than its refresh
 * interval (at least `minAgeMs`) is reported once; it can be reported again after it has recovered.
 */
export interface WatchedList {
  readonly name: string;
  readonly source: string;
  readonly refreshSec: number;
  readonly lastError?: string;
  readonly lastChangeMs?: number;
  readonly lastFetchMs?: number;
}

export interface ListWatchOptions {
  lists(): readonly WatchedList[];
  /** Called once per list per failing period. */
  onFailing(list: WatchedList, failingSinceMs: number, nowMs: number): void;
  readonly clock?: () => number;
  /** Default 60 s. */
  readonly intervalMs?: number;
  /** The shortest failing time reported (file lists have no refresh interval). Default 10 min. */
  readonly minAgeMs?: number;
}

export interface ListWatch {
  /** One look now (the timer calls it; tests call it with their clock). */
  check(): void;
  start(): void;
  stop(): void;
}

export function createListWatch(options: ListWatchOptions): ListWatch {
  const clock = options.clock ?? Date.now;
  const minAgeMs = options.minAgeMs ?? 600_000;
  /** Lists seen failing: since when, and whether already reported. */
  const failing = new Map<string, { sinceMs: number; reported: boolean }>();
  let timer: NodeJS.Timeout | undefined;

  function check(): void {
    const now = clock();
    const seen = new Set<string>();
    for (const list of options.lists()) {
      if (list.lastError === undefined) continue;
      seen.add(list.name);
      let state = failing.get(list.name);
      if (state === undefined) {
        state = { sinceMs: now, reported: false };
        failing.set(list.name, state);
      }
      if (!state.reported && now - state.sinceMs >= Math.max(list.refreshSec * 1000, minAgeMs)) {
        state.reported = true;
        options.onFailing(list, state.sinceMs, now);
      }
    }
    for (const name of failing.keys()) if (!seen.has(name)) failing.delete(name);
  }

  return {
    check,
    start() {
      timer ??= setInterval(check, options.intervalMs ?? 60_000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
