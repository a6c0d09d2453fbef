import { describe, expect, test } from 'vitest';
import { firstRefreshDelayMs, jittered, nextRefreshDelayMs } from '../../src/blocklist/refresh-timing.js';

const HOUR_MS = 3_600_000;

describe('nextRefreshDelayMs', () => {
  test.each<[string, number, number, number, number]>([
    ['after a success: refreshSec, never later', 86_400, 0, 0, 86_400_000],
    ['jitter brings it at most 10% earlier', 86_400, 0, 0.999_999, 86_400_000 * 0.900_000_1],
    ['first failure: a minute', 86_400, 1, 0, 60_000],
    ['then 2, 4, 8 minutes', 86_400, 4, 0, 480_000],
    ['at most an hour', 86_400, 12, 0, HOUR_MS],
    ['never later than refreshSec', 120, 5, 0, 120_000],
    ['a long streak does not overflow', 86_400, 10_000, 0, HOUR_MS],
  ])('%s', (_label, refreshSec, streak, random, expected) => {
    expect(nextRefreshDelayMs(refreshSec, streak, random)).toBeCloseTo(expected, 0);
  });
});

describe('firstRefreshDelayMs', () => {
  const now = 10 * HOUR_MS;
  test.each<[string, Parameters<typeof firstRefreshDelayMs>[1], number]>([
    [
      'a copy fetched an hour ago waits for the rest of the period',
      { loaded: true, lastFetchMs: now - HOUR_MS, lastFailed: false },
      2 * HOUR_MS,
    ],
    ['an overdue copy is fetched at once', { loaded: true, lastFetchMs: now - 4 * HOUR_MS, lastFailed: false }, 500],
    ['no copy: at once', { loaded: false, lastFetchMs: now - HOUR_MS, lastFailed: false }, 500],
    ['never fetched: at once', { loaded: true, lastFetchMs: undefined, lastFailed: false }, 500],
    ['the last fetch failed: at once', { loaded: true, lastFetchMs: now - HOUR_MS, lastFailed: true }, 500],
  ])('%s', (_label, last, expected) => {
    expect(firstRefreshDelayMs(3 * 3600, last, now, 0.5)).toBe(
      expected === 500 ? 500 : Math.min(expected, jittered(3 * HOUR_MS, 0.5)),
    );
  });
});
