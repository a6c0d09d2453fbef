/** The day of a time and of a partition name (event-partitions.ts): UTC days, names of ours only. */
import { describe, expect, test } from 'vitest';
import { DAY_MS, dayOf, partitionDay } from '../../src/central/event-partitions.js';

describe('central event partitions', () => {
  test.each([
    [0, 0],
    [DAY_MS - 1, 0],
    [DAY_MS, 1],
    [-1, -1],
    [Date.UTC(2026, 11, 3, 23, 59, 59, 999), Date.UTC(2026, 11, 3) / DAY_MS],
    [Date.UTC(2026, 11, 4), Date.UTC(2026, 11, 4) / DAY_MS],
  ])('dayOf(%d) is %d', (timeMs, day) => {
    expect(dayOf(timeMs)).toBe(day);
  });

  test.each([
    ['central_events_p20261203', Date.UTC(2026, 11, 3) / DAY_MS],
    ['central_events_p19700101', 0],
    ['central_events_p20240229', Date.UTC(2024, 1, 29) / DAY_MS],
    ['central_events_default', undefined],
    ['central_events_p2026120', undefined],
    ['central_events_p202612031', undefined],
    ['other_p20261203', undefined],
    ['central_events_p20261203; DROP TABLE x', undefined],
  ])('partitionDay(%j) is %s', (name, day) => {
    expect(partitionDay(name)).toBe(day);
  });
});
