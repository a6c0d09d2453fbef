/**
 * When a failed delivery is tried again: 1 s after the first failure, doubling, capped at an hour,
 * with jitter so that many sinks that failed together do not retry together. A delivery still failing
 * 24 h after its message was made is given up (marked failed).
 */
export const FIRST_RETRY_MS = 1_000;
export const MAX_RETRY_DELAY_MS = 3_600_000;
export const MAX_DELIVERY_AGE_MS = 24 * 3_600_000;

/**
 * The wait before attempt `failures + 1`, given `failures` (≥ 1) failed attempts: a uniform draw
 * from [d/2, d] where d = min(1 s · 2^(failures-1), 1 h). `random` returns [0, 1).
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 32);
  const ceiling = Math.min(FIRST_RETRY_MS * 2 ** exponent, MAX_RETRY_DELAY_MS);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Whether a delivery whose message was made at `createdMs` is still worth another attempt at `nextMs`. */
export function withinDeliveryAge(createdMs: number, nextMs: number): boolean {
  return nextMs - createdMs <= MAX_DELIVERY_AGE_MS;
}
