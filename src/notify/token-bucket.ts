/**
 * The per-sink rate limit: a token bucket holding at most `perMinute` tokens, refilled at
 * `perMinute` a minute. A message that finds no token is held back and summarised in a digest.
 */
export interface TokenBucket {
  /** Takes a token if one is there at `nowMs`. */
  take(nowMs: number): boolean;
  /** Whole tokens available at `nowMs`. */
  available(nowMs: number): number;
}

export function createTokenBucket(perMinute: number, startMs: number): TokenBucket {
  if (!Number.isInteger(perMinute) || perMinute < 1) throw new RangeError('perMinute must be a positive integer');
  const perMs = perMinute / 60_000;
  let tokens = perMinute;
  let lastMs = startMs;

  function refill(nowMs: number): void {
    if (nowMs > lastMs) {
      tokens = Math.min(perMinute, tokens + (nowMs - lastMs) * perMs);
      lastMs = nowMs;
    }
  }

  return {
    take(nowMs) {
      refill(nowMs);
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    available(nowMs) {
      refill(nowMs);
      return Math.floor(tokens);
    },
  };
}
