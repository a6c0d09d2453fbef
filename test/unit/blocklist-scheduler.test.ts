import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { createTimerScheduler } from '../../src/blocklist/scheduler.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

test('runs once after the delay', () => {
  const run = vi.fn();
  createTimerScheduler().schedule(1000, run);
  vi.advanceTimersByTime(999);
  expect(run).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(run).toHaveBeenCalledTimes(1);
  vi.advanceTimersByTime(10_000);
  expect(run).toHaveBeenCalledTimes(1);
});

test('a delay past what setTimeout allows (30 days) is waited out in steps', () => {
  const run = vi.fn();
  const thirtyDaysMs = 30 * 86_400_000;
  createTimerScheduler().schedule(thirtyDaysMs, run);
  vi.advanceTimersByTime(2_147_483_647);
  expect(run).not.toHaveBeenCalled();
  vi.advanceTimersByTime(thirtyDaysMs - 2_147_483_647 - 1);
  expect(run).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(run).toHaveBeenCalledTimes(1);
});

test('cancel stops it, also between steps', () => {
  const run = vi.fn();
  const scheduler = createTimerScheduler();
  scheduler.schedule(50, run).cancel();
  const long = scheduler.schedule(3_000_000_000, run);
  vi.advanceTimersByTime(2_200_000_000);
  long.cancel();
  vi.advanceTimersByTime(1_000_000_000);
  expect(run).not.toHaveBeenCalled();
});

test('a negative delay runs at once', () => {
  const run = vi.fn();
  createTimerScheduler().schedule(-5, run);
  vi.advanceTimersByTime(0);
  expect(run).toHaveBeenCalledTimes(1);
});
