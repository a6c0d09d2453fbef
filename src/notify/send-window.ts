/**
 * The per-sink rate limit: at most `perMinute` messages in any 60 s (a sliding window over the
 * last `perMinute` send times, so a steady flood never gets twice the rate across a window edge, as
 * a token bucket's refill would allow). A message that finds the window full is held back and
 * summarised in a digest.
 */
export interface SendWindow {
  /** Counts a send at `nowMs` if the window allows one. */
  take(nowMs: number): boolean;
  /** Sends the window would allow at `nowMs`. */
  available(nowMs: number): number;
}

const WINDOW_MS = 60_000;

export function createSendWindow(perMinute: number): SendWindow {
  if (!Number.isInteger(perMinute) || perMinute < 1) throw new RangeError('perMinute must be a positive integer');
  // Ring of the last perMinute send times; `oldest` indexes the earliest once it is full.
  const sentAt = new Array<number>(perMinute).fill(Number.NEGATIVE_INFINITY);
  let oldest = 0;

  return {
    take(nowMs) {
      if ((sentAt[oldest] ?? Number.NEGATIVE_INFINITY) > nowMs - WINDOW_MS) return false;
      sentAt[oldest] = nowMs;
      oldest = (oldest + 1) % perMinute;
      return true;
    },
    available(nowMs) {
      let free = 0;
      for (const timeMs of sentAt) if (timeMs <= nowMs - WINDOW_MS) free += 1;
      return free;
    },
  };
}
