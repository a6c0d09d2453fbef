import { afterEach, describe, expect, test, vi } from 'vitest';
import { createDeadlines } from '../../src/upstream/deadlines.js';
import { createRandomIds } from '../../src/upstream/ids.js';

describe('createRandomIds', () => {
  test('draws 16-bit values from a buffer refilled only when used up', () => {
    let fills = 0;
    const ids = createRandomIds({
      batchSize: 4,
      fill: (buffer) => {
        fills++;
        buffer.set([0, 1, 0xffff, fills]);
      },
    });
    const values = Array.from({ length: 9 }, () => ids.next());
    expect(fills).toBe(3);
    expect(values).toEqual([0, 1, 0xffff, 1, 0, 1, 0xffff, 2, 0]);
  });

  test('the default source is the CSPRNG', () => {
    const ids = createRandomIds();
    const values = new Set(Array.from({ length: 4096 }, () => ids.next()));
    for (const v of values) expect(v >= 0 && v <= 0xffff).toBe(true);
    expect(values.size).toBeGreaterThan(3800); // 4096 draws from 65536: about 3970 distinct
  });
});

describe('createDeadlines', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup() {
    vi.useFakeTimers();
    let now = 0;
    const expired: string[] = [];
    const errors: unknown[] = [];
    const deadlines = createDeadlines<string>({
      sweepIntervalMs: 25,
      now: () => now,
      onExpired: (entry) => {
        expired.push(entry);
        if (entry === 'throws') throw new Error('boom');
      },
      onError: (err) => errors.push(err),
    });
    const advance = (ms: number): void => {
      now += ms;
      vi.advanceTimersByTime(ms);
    };
    return { deadlines, expired, errors, advance };
  }

  test('expires entries within one sweep after their deadline, on one timer', () => {
    const { deadlines, expired, advance } = setup();
    deadlines.set('a', 100);
    deadlines.set('b', 50);
    deadlines.set('c', 60);
    expect(vi.getTimerCount()).toBe(1);
    deadlines.delete('c');
    advance(50);
    expect(expired).toEqual(['b']);
    advance(50);
    expect(expired).toEqual(['b', 'a']);
    expect(deadlines.size).toBe(0);
  });

  test('stops the timer once nothing is waiting, and restarts it when needed', () => {
    const { deadlines, advance, expired } = setup();
    deadlines.set('a', 10);
    advance(25);
    expect(vi.getTimerCount()).toBe(0);
    deadlines.set('b', 60);
    expect(vi.getTimerCount()).toBe(1);
    advance(50);
    expect(expired).toEqual(['a', 'b']);
  });

  test('moving a deadline replaces the old one', () => {
    const { deadlines, advance, expired } = setup();
    deadlines.set('a', 25);
    deadlines.set('a', 100);
    advance(75);
    expect(expired).toEqual([]);
    advance(25);
    expect(expired).toEqual(['a']);
  });

  test('a throwing handler is reported and does not stop the sweep', () => {
    const { deadlines, advance, expired, errors } = setup();
    deadlines.set('throws', 10);
    deadlines.set('after', 10);
    advance(25);
    expect(expired).toEqual(['throws', 'after']);
    expect(errors).toHaveLength(1);
  });

  test('drain removes and returns everything and stops the timer', () => {
    const { deadlines } = setup();
    deadlines.set('a', 10);
    deadlines.set('b', 20);
    expect(deadlines.drain()).toEqual(['a', 'b']);
    expect(deadlines.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
