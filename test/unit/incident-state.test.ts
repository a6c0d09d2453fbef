import { describe, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import {
  attemptsStep,
  autoResolveDue,
  checkTransition,
  escalationReasons,
  higherSeverity,
  isNameStep,
  severityOf,
} from '../../src/incidents/incident-state.js';

describe('incident state machine', () => {
  test.each([
    ['open', 'acknowledged', true],
    ['open', 'resolved', true],
    ['acknowledged', 'resolved', true],
    ['acknowledged', 'acknowledged', false],
    ['resolved', 'acknowledged', false],
    ['resolved', 'resolved', false],
  ] as const)('%s → %s allowed: %s', (from, to, allowed) => {
    let error: unknown;
    try {
      checkTransition(7, from, to);
    } catch (err: unknown) {
      error = err;
    }
    expect(error === undefined).toBe(allowed);
    if (!allowed) expect(isPoolsinkError(error, 'ERR_CONFLICT')).toBe(true);
  });

  test.each([
    [undefined, 'blocked', 'high'],
    [undefined, 'alerted', 'medium'],
    ['low', 'blocked', 'low'],
    ['critical', 'alerted', 'critical'],
  ] as const)('list severity %s with %s → %s', (configured, action, expected) => {
    expect(severityOf(configured, action)).toBe(expected);
  });

  test('an incident keeps the highest severity', () => {
    expect(higherSeverity('medium', 'high')).toBe('high');
    expect(higherSeverity('critical', 'low')).toBe('critical');
  });

  test.each([
    [0, 0],
    [99, 0],
    [100, 1],
    [999, 1],
    [1000, 2],
    [10_000, 3],
    [123_456, 4],
  ])('attempts %i are step %i', (attempts, step) => {
    expect(attemptsStep(attempts)).toBe(step);
  });

  test.each([
    [1, false],
    [2, true],
    [10, true],
    [11, false],
    [99, false],
    [100, true],
    [1000, true],
    [1001, false],
  ])('%i distinct names is a step: %s', (names, step) => {
    expect(isNameStep(names)).toBe(step);
  });

  test('escalation reasons: at most one per kind, whatever the jump', () => {
    expect(escalationReasons({ attempts: 5, names: 1 }, { attempts: 6, names: 1 })).toEqual([]);
    expect(escalationReasons({ attempts: 5, names: 1 }, { attempts: 50_000, names: 500 })).toEqual([
      '2 distinct names',
      'attempts passed 10000',
    ]);
    expect(escalationReasons({ attempts: 99, names: 11 }, { attempts: 100, names: 50 })).toEqual([
      'attempts passed 100',
    ]);
  });

  test('auto-resolve is due after the configured quiet hours', () => {
    expect(autoResolveDue(0, 72 * 3_600_000 - 1, 72)).toBe(false);
    expect(autoResolveDue(0, 72 * 3_600_000, 72)).toBe(true);
  });
});
