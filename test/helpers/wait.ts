/**
 * The one wait helper of the test suite, for state that has no event to await (a counter, a log
 * line, a row count): polls `condition` until it holds. Await an event instead where there is one.
 */
import { vi } from 'vitest';

const POLL_INTERVAL_MS = 5;

/** Resolves once `condition()` is true; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  try {
    await vi.waitUntil(condition, { timeout: timeoutMs, interval: POLL_INTERVAL_MS });
  } catch (err: unknown) {
    throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`, { cause: err });
  }
}

/** `until` for a condition that needs an asynchronous answer (an API call): one call in flight at a time. */
export async function untilAsync(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  let met = false;
  let running = false;
  await until(() => {
    if (!running && !met) {
      running = true;
      void condition().then((value) => {
        met = value;
        running = false;
      });
    }
    return met;
  }, timeoutMs);
}
