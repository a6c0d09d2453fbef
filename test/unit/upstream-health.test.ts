import { describe, expect, test } from 'vitest';
import { UNHEALTHY_AFTER_FAILURES, createHealthTracker, type HealthTarget } from '../../src/upstream/health.js';

// The tracker reports the per-reason counts; the pool (not the tracker) increments them.
const NO_FAILURES = { timeout: 0, servfail: 0, refused: 0, error: 0 };

function targets(...labels: string[]): HealthTarget[] {
  return labels.map((label) => ({ label, consecutiveFailures: 0, lastError: undefined, failures: { ...NO_FAILURES } }));
}

type Event = ['ok' | 'fail', number];

describe('health tracker', () => {
  test.each<[string, Event[], string[]]>([
    ['configuration order when all are healthy', [], ['a', 'b', 'c']],
    [
      'two failures do not demote',
      [
        ['fail', 0],
        ['fail', 0],
      ],
      ['a', 'b', 'c'],
    ],
    [
      'three failures in a row demote',
      [
        ['fail', 0],
        ['fail', 0],
        ['fail', 0],
      ],
      ['b', 'c', 'a'],
    ],
    [
      'a success in between resets the count',
      [
        ['fail', 0],
        ['fail', 0],
        ['ok', 0],
        ['fail', 0],
      ],
      ['a', 'b', 'c'],
    ],
    [
      'demoted upstreams keep their relative order',
      [
        ['fail', 1],
        ['fail', 1],
        ['fail', 1],
        ['fail', 0],
        ['fail', 0],
        ['fail', 0],
      ],
      ['c', 'a', 'b'],
    ],
    [
      'all demoted: configuration order',
      [0, 1, 2].flatMap((i): Event[] => [
        ['fail', i],
        ['fail', i],
        ['fail', i],
      ]),
      ['a', 'b', 'c'],
    ],
    [
      'an answer restores',
      [
        ['fail', 0],
        ['fail', 0],
        ['fail', 0],
        ['ok', 0],
      ],
      ['a', 'b', 'c'],
    ],
  ])('%s', (_label, events, expected) => {
    const list = targets('a', 'b', 'c');
    const health = createHealthTracker(list);
    for (const [kind, index] of events) {
      if (kind === 'ok') health.succeeded(list[index]!);
      else health.failed(list[index]!, 'x');
    }
    expect(health.order().map((t) => t.label)).toEqual(expected);
  });

  test('reports transitions and the last error; the order array is reused while nothing changes', () => {
    const list = targets('a', 'b');
    const health = createHealthTracker(list);
    const before = health.order();
    expect(health.failed(list[0]!, 'timeout 1')).toBe(false);
    expect(health.order()).toBe(before);
    health.failed(list[0]!, 'timeout 2');
    expect(health.failed(list[0]!, 'timeout 3')).toBe(true);
    expect(health.failed(list[0]!, 'timeout 4')).toBe(false);
    expect(health.snapshot()).toEqual([
      {
        upstream: 'a',
        consecutiveFailures: UNHEALTHY_AFTER_FAILURES + 1,
        failures: NO_FAILURES,
        lastError: 'timeout 4',
      },
      { upstream: 'b', consecutiveFailures: 0, failures: NO_FAILURES },
    ]);
    expect(health.succeeded(list[0]!)).toBe(true);
    expect(health.succeeded(list[0]!)).toBe(false);
  });
});
