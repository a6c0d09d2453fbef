/**
 * Timers for list refreshes, behind an interface so tests can fire them by hand. Timers never keep
 * the process alive, and delays longer than setTimeout allows (about 24.8 days; refreshSec goes
 * to 30 days) are waited out in steps.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Scheduler {
  /** Runs `run` once after `delayMs` (at least 0) unless cancelled first. */
  schedule(delayMs: number, run: () => void): TimerHandle;
}

/** The largest delay setTimeout honours. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export function createTimerScheduler(): Scheduler {
  return {
    schedule(delayMs, run) {
      let timer: NodeJS.Timeout | undefined;
      const wait = (remainingMs: number): void => {
        const stepMs = Math.min(Math.max(0, remainingMs), MAX_TIMEOUT_MS);
        timer = setTimeout(() => {
          if (remainingMs > MAX_TIMEOUT_MS) wait(remainingMs - MAX_TIMEOUT_MS);
          else run();
        }, stepMs);
        timer.unref();
      };
      wait(delayMs);
      return {
        cancel() {
          clearTimeout(timer);
        },
      };
    },
  };
}
