/**
 * When a URL list is fetched next, as pure functions of what happened (tested on their own).
 * Jitter only ever brings a refresh earlier, so a list is never older than refreshSec; it spreads
 * many poolsink instances, started together, over the last 10% of the period.
 */

/** Refreshes happen this much earlier than due at most (0.1: between 90% and 100% of the delay). */
export const JITTER_FRACTION = 0.1;
/** URL lists with nothing recent are fetched within this much of start. */
export const START_SPREAD_MS = 1000;
/** After a failure, retry after 1, 2, 4 ... minutes, at most an hour (and never later than refreshSec). */
export const RETRY_BASE_MS = 60_000;
export const RETRY_MAX_MS = 3_600_000;

/** `delayMs`, shortened by up to JITTER_FRACTION; `random` is in [0, 1). */
export function jittered(delayMs: number, random: number): number {
  return delayMs * (1 - JITTER_FRACTION * random);
}

/** Delay before the next refresh after one that succeeded (`failureStreak` 0) or failed. */
export function nextRefreshDelayMs(refreshSec: number, failureStreak: number, random: number): number {
  const periodMs = refreshSec * 1000;
  if (failureStreak <= 0) return jittered(periodMs, random);
  const backoffMs = RETRY_BASE_MS * 2 ** Math.min(failureStreak - 1, 16);
  return jittered(Math.min(backoffMs, RETRY_MAX_MS, periodMs), random);
}

/**
 * Delay before the first refresh after start. A list loaded from its last known good copy whose
 * last fetch (before the restart) succeeded waits until that fetch is refreshSec old; anything
 * else is fetched within START_SPREAD_MS.
 */
export function firstRefreshDelayMs(
  refreshSec: number,
  last: { readonly loaded: boolean; readonly lastFetchMs: number | undefined; readonly lastFailed: boolean },
  nowMs: number,
  random: number,
): number {
  const periodMs = refreshSec * 1000;
  if (last.loaded && last.lastFetchMs !== undefined && !last.lastFailed) {
    const dueInMs = last.lastFetchMs + periodMs - nowMs;
    if (dueInMs > 0) return Math.min(dueInMs, jittered(periodMs, random));
  }
  return random * START_SPREAD_MS;
}
