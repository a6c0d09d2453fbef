/**
 * Per-attempt timeouts on one shared coarse timer (as undici does) instead of a setTimeout per
 * query. The timer runs only while something is waiting, and is unref'd so it never keeps the
 * process alive by itself. An entry expires within one sweep interval after its deadline.
 */
export interface Deadlines<T> {
  /** Sets (or moves) `entry`'s deadline, in the units of the injected clock. */
  set(entry: T, deadlineMs: number): void;
  delete(entry: T): void;
  /** Removes every entry and returns them, for shutdown. */
  drain(): T[];
  readonly size: number;
}

export function createDeadlines<T>(options: {
  sweepIntervalMs: number;
  now: () => number;
  onExpired: (entry: T) => void;
  /** Called if onExpired throws, so one bad entry cannot stop the sweep or crash the process. */
  onError: (err: unknown) => void;
}): Deadlines<T> {
  const { sweepIntervalMs, now, onExpired, onError } = options;
  const deadlines = new Map<T, number>();
  let timer: NodeJS.Timeout | undefined;

  function sweep(): void {
    const t = now();
    for (const [entry, deadline] of deadlines) {
      if (deadline > t) continue;
      deadlines.delete(entry);
      try {
        onExpired(entry);
      } catch (err: unknown) {
        onError(err);
      }
    }
    // Stopping lazily here (not on every delete) keeps a steady trickle of queries from
    // creating and clearing an interval per query.
    if (deadlines.size === 0) stop();
  }

  function stop(): void {
    if (timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    set(entry, deadlineMs) {
      deadlines.delete(entry); // re-inserting keeps the map roughly in deadline order
      deadlines.set(entry, deadlineMs);
      if (timer === undefined) {
        timer = setInterval(sweep, sweepIntervalMs);
        timer.unref();
      }
    },
    delete(entry) {
      deadlines.delete(entry);
    },
    drain() {
      const entries = [...deadlines.keys()];
      deadlines.clear();
      stop();
      return entries;
    },
    get size() {
      return deadlines.size;
    },
  };
}
