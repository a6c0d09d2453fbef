/**
 * outcome_hours (schema v11): the writer keeps it the sum of outcome_minutes per hour, the upgrade
 * fills it from the minutes, and /stats, /overview and the timeseries read it to the same counts
 * outcome_minutes alone gave (the SQL they ran before v11 is the reference here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDatabase, openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';
import { EVENTS_DROPPED_OUTCOME, MIGRATIONS } from '../../src/store/schema.js';
import { blockEvent } from '../helpers/block-events.js';

const log = pino({ level: 'silent' });
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** An hour boundary; outcomes are written from H - 2 h to H + 3 h. */
const H = Date.UTC(2025, 3, 10, 8);
const FIRST = H - 2 * HOUR;
const END = H + 3 * HOUR;

interface Row {
  key: string;
  count: number;
}

let dir: string;
let connection: StoreConnection;

/** Outcome counts since sinceMs's minute as the stores before v11 summed them: outcome_minutes alone. */
function minuteSums(sinceMs: number): { outcomes: Record<string, number>; droppedEvents: number } {
  const rows = connection.db
    .prepare<[number], Row>(
      'SELECT outcome AS key, sum(count) AS count FROM outcome_minutes WHERE minute_ms >= ? GROUP BY outcome',
    )
    .all(Math.floor(sinceMs / MINUTE) * MINUTE);
  const outcomes: Record<string, number> = {};
  let droppedEvents = 0;
  for (const row of rows) {
    if (row.key === EVENTS_DROPPED_OUTCOME) droppedEvents = row.count;
    else outcomes[row.key] = row.count;
  }
  return { outcomes, droppedEvents };
}

/** Per-minute outcomes, as the writer thread gets them: every few minutes a delta, drops now and then. */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-outcome-hours-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
  let now = FIRST;
  const writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, maxBuffered: 2, clock: () => now });
  let i = 0;
  for (let t = FIRST; t < END; t += 7 * MINUTE + 13_000, i += 1) {
    now = t;
    writer.addOutcomes({ forwarded: 1 + (i % 5), cached: 2 + (i % 3), ...(i % 4 === 0 ? { refused: 1 } : {}) });
    // The writer thread records the DNS thread's drops under EVENTS_DROPPED_OUTCOME at their time.
    if (i % 6 === 0) writer.addOutcomes({ [EVENTS_DROPPED_OUTCOME]: 2 }, t + 30_000);
    // Its own full buffer too (maxBuffered 2): the third event is dropped, counted.
    if (i % 9 === 0) for (let k = 0; k < 3; k += 1) writer.record(blockEvent(t));
    if (i % 3 === 0) writer.flush(); // an hour's rows are upserted by several writes
  }
  writer.close();
});

afterAll(() => {
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('outcome_hours', () => {
  test('each row is the sum of its hour of outcome_minutes', () => {
    const fromMinutes = connection.db
      .prepare(
        `SELECT CAST(minute_ms / ${HOUR} AS INTEGER) * ${HOUR} AS hour_ms, outcome, sum(count) AS count
         FROM outcome_minutes GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all();
    expect(fromMinutes.length).toBeGreaterThan(5 * 3);
    expect(connection.db.prepare('SELECT hour_ms, outcome, count FROM outcome_hours ORDER BY 1, 2').all()).toEqual(
      fromMinutes,
    );
    expect(minuteSums(FIRST).droppedEvents).toBeGreaterThan(0);
  });

  const windows: [string, number][] = [
    ['before every row', FIRST - 5 * HOUR],
    ['at the first hour', FIRST],
    ['on an hour boundary', H],
    ['1 ms into an hour', H + 1],
    ['a minute into an hour', H + MINUTE],
    ['inside a minute of the first half', H + 17 * MINUTE + 42_123],
    ['at the half hour', H + 30 * MINUTE],
    ['inside a minute of the second half', H + 44 * MINUTE + 5_000],
    ['the last ms of an hour', H + HOUR - 1],
    ['inside the last hour', END - 20 * MINUTE],
    ['after every row', END + HOUR],
  ];

  test.each(windows)('/stats since %s counts what outcome_minutes alone counts', (_label, sinceMs) => {
    const stats = createEventQueries(connection).stats(sinceMs, 10);
    expect(stats.sinceMs).toBe(sinceMs); // few events: the edge is counted exactly
    const expected = minuteSums(sinceMs);
    expect({ outcomes: stats.outcomes, droppedEvents: stats.droppedEvents }).toEqual(expected);
    if (sinceMs < END - HOUR) expect(Object.keys(expected.outcomes).length).toBeGreaterThan(1);
  });

  test.each(windows)('/overview since %s counts what outcome_minutes alone counts', (_label, sinceMs) => {
    const overview = createEventQueries(connection).overview(sinceMs, 10);
    expect({ outcomes: overview.outcomes, droppedEvents: overview.droppedEvents }).toEqual(minuteSums(sinceMs));
  });

  test.each([
    ['24h', END - 1],
    ['24h', H + 25 * MINUTE],
    ['7d', END],
    ['30d', END],
  ] as const)('timeseries(%s, outcomes) at %i has the buckets of outcome_minutes', (range, nowMs) => {
    const series = createEventQueries(connection).timeseries(range, nowMs, true);
    const bucketSql = connection.db.prepare<
      { fromMs: number; toMs: number; bucketMs: number },
      Row & { bucket: number }
    >(
      `SELECT CAST((minute_ms - @fromMs) / @bucketMs AS INTEGER) AS bucket, outcome AS key, sum(count) AS count FROM outcome_minutes
       WHERE minute_ms >= @fromMs AND minute_ms < @toMs GROUP BY bucket, outcome`,
    );
    const expected = series.buckets.map((): Record<string, number> => ({}));
    for (const row of bucketSql.all({ fromMs: series.fromMs, toMs: series.toMs, bucketMs: series.bucketMs })) {
      const counts = expected[row.bucket];
      if (counts !== undefined && row.key !== EVENTS_DROPPED_OUTCOME) counts[row.key] = row.count;
    }
    expect(series.buckets.map((b) => b.outcomes)).toEqual(expected);
    expect(expected.some((counts) => (counts.forwarded ?? 0) > 0)).toBe(true);
  });
});

describe('upgrade to v11', () => {
  test('fills outcome_hours from the outcome_minutes of an older file', () => {
    const path = join(dir, 'v10.db');
    const v10 = openDatabase(path, { log, migrations: MIGRATIONS.filter((m) => m.version <= 10) });
    const insert = v10.prepare('INSERT INTO outcome_minutes (minute_ms, outcome, count) VALUES (?, ?, ?)');
    insert.run(H - MINUTE, 'forwarded', 4); // the hour before
    insert.run(H, 'forwarded', 1);
    insert.run(H + 59 * MINUTE, 'forwarded', 2);
    insert.run(H + 30 * MINUTE, EVENTS_DROPPED_OUTCOME, 7);
    insert.run(H + HOUR, 'cached', 3);
    v10.close();
    const db = openDatabase(path, { log });
    try {
      expect(db.prepare('SELECT hour_ms, outcome, count FROM outcome_hours ORDER BY 1, 2').all()).toEqual([
        { hour_ms: H - HOUR, outcome: 'forwarded', count: 4 },
        { hour_ms: H, outcome: EVENTS_DROPPED_OUTCOME, count: 7 },
        { hour_ms: H, outcome: 'forwarded', count: 3 },
        { hour_ms: H + HOUR, outcome: 'cached', count: 3 },
      ]);
    } finally {
      db.close();
    }
  });
});
