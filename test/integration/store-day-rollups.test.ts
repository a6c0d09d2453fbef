/**
 * host_days / domain_days (schema v12): the pruner compacts complete days, the batch writer keeps a
 * compacted day the sum of its hours when late events arrive, retention keeps them consistent, and
 * /stats reads them to the counts the hourly rows alone (or the events themselves) give.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDatabase, openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter, type InProcessEventWriter } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';
import { createPruner } from '../../src/store/retention.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import type { Stats } from '../../src/store/types.js';
import { dayOf } from '../../src/store/day-rollups-schema.js';
import { startWriterThread } from '../../src/store/writer-thread.js';
import { blockEvent } from '../helpers/block-events.js';
import { until } from '../helpers/wait.js';

const log = pino({ level: 'silent' });
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Midnight of the first day with events; events run from D0 + 5 h to D0 + 4 days + 10 h. */
const D0 = Date.UTC(2025, 6, 7);
const FIRST = D0 + 5 * HOUR;
const END = D0 + 4 * DAY + 10 * HOUR;
const HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '192.0.2.7'];
const NAMES = ['a.pool.example', 'b.pool.example', 'c.pool.example', 'x.miner.example', 'y.miner.example', 'z.test'];

interface Row {
  key: string;
  count: number;
}

let dir: string;
let connection: StoreConnection;
let now = FIRST;
let writer: InProcessEventWriter;

function record(timeMs: number, i: number): void {
  writer.record(
    blockEvent(timeMs, {
      clientIp: HOSTS[(i * 7) % HOSTS.length] ?? '10.0.0.1',
      qname: NAMES[(i * 5 + (i >> 3)) % NAMES.length] ?? 'a.pool.example',
    }),
  );
}

function pruner(retentionDays = 3650) {
  return createPruner({ connection, log, retentionDays, maxEvents: 1_000_000, clock: () => now });
}

function asMap(rows: readonly Row[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [r.key, r.count]));
}

function statsMaps(stats: Stats): { hosts: Record<string, number>; domains: Record<string, number> } {
  return {
    hosts: asMap(stats.topHosts.map((h) => ({ key: h.clientIp, count: h.count }))),
    domains: asMap(stats.topDomains.map((d) => ({ key: d.domain, count: d.count }))),
  };
}

/** The truth: the events since sinceMs, per key. */
function eventCounts(sinceMs: number): { hosts: Record<string, number>; domains: Record<string, number> } {
  const per = (column: string) =>
    asMap(
      connection.db
        .prepare<[number], Row>(
          `SELECT ${column} AS key, sum(count) AS count FROM events WHERE time_ms >= ? GROUP BY 1`,
        )
        .all(sinceMs),
    );
  return { hosts: per('client_ip'), domains: per('qname') };
}

/** What the hourly rows alone give from hour fromHour (the /stats of v11 at a whole hour). */
function hourCounts(fromHour: number): { hosts: Record<string, number>; domains: Record<string, number> } {
  const per = (table: string, column: string) =>
    asMap(
      connection.db
        .prepare<[number], Row>(
          `SELECT ${column} AS key, sum(count) AS count FROM ${table} WHERE hour_ms >= ? GROUP BY 1 HAVING sum(count) > 0`,
        )
        .all(fromHour),
    );
  return { hosts: per('host_hours', 'client_ip'), domains: per('domain_hours', 'qname') };
}

/** Every day row equals the sum of its day's hour rows. */
function expectDaysAreSumsOfHours(table: 'host' | 'domain', column: string): void {
  const days = connection.db.prepare(`SELECT ${column} AS key, day_ms AS day, count FROM ${table}_days ORDER BY 1, 2`);
  const sums = connection.db.prepare(
    `SELECT ${column} AS key, hour_ms / ${DAY} * ${DAY} AS day, sum(count) AS count FROM ${table}_hours
     WHERE hour_ms < (SELECT compacted_below_ms FROM day_rollups) AND hour_ms >= (SELECT kept_from_ms FROM day_rollups)
     GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  const kept = connection.db.prepare<[], { keptFrom: number }>('SELECT kept_from_ms AS keptFrom FROM day_rollups');
  const keptFrom = kept.get()?.keptFrom ?? 0;
  const valid = (days.all() as { day: number }[]).filter((row) => row.day >= keptFrom);
  expect(valid).toEqual(sums.all());
}

function state(): { compactedBelow: number; keptFrom: number } | undefined {
  return connection.db
    .prepare<[], { compactedBelow: number; keptFrom: number }>(
      'SELECT compacted_below_ms AS compactedBelow, kept_from_ms AS keptFrom FROM day_rollups',
    )
    .get();
}

const windows: [string, number][] = [
  ['inside the last (partial) day', D0 + 4 * DAY + 2 * HOUR + 17 * MINUTE],
  ['inside one complete day', D0 + 2 * DAY + 13 * HOUR + 41 * MINUTE],
  ['spanning several complete days', D0 + 7 * HOUR + 45 * MINUTE],
  ['at a midnight', D0 + DAY],
  ['1 ms after a midnight', D0 + DAY + 1],
  ['1 ms before a midnight', D0 + 2 * DAY - 1],
  ['at the first hour with events', FIRST],
  ['before all data', D0 - 3 * DAY],
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-day-rollups-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
  writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, clock: () => now });
  let i = 0;
  for (let t = FIRST; t < END; t += 11 * MINUTE + 7_001, i += 1) {
    now = t;
    record(t, i);
    if (i % 5 === 0) record(t + 1, i + 1);
    if (i % 40 === 0) writer.flush();
  }
  writer.flush();
  now = END;
  await pruner().runOnce();
});

afterAll(() => {
  writer.close();
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('day compaction', () => {
  test('the pruner compacts every complete day into rows that are the sums of their hours', () => {
    expect(state()?.compactedBelow).toBe(D0 + 4 * DAY);
    expect(state()?.keptFrom).toBeLessThan(D0); // retention 10 years
    const dayRows = connection.db.prepare('SELECT count(*) AS n FROM host_days').get() as { n: number };
    expect(dayRows.n).toBe(4 * HOSTS.length);
    expectDaysAreSumsOfHours('host', 'client_ip');
    expectDaysAreSumsOfHours('domain', 'qname');
  });

  test('a day is compacted only once it ended an hour ago, and a second pass changes nothing', async () => {
    now = D0 + 5 * DAY + 59 * MINUTE;
    await pruner().runOnce();
    expect(state()?.compactedBelow).toBe(D0 + 4 * DAY);
    now = D0 + 5 * DAY + HOUR;
    await pruner().runOnce();
    expect(state()?.compactedBelow).toBe(D0 + 5 * DAY);
    expectDaysAreSumsOfHours('host', 'client_ip');
    now = END;
  });

  test.each(windows)('/stats since %s counts the events since then', (_label, sinceMs) => {
    const stats = createEventQueries(connection).stats(sinceMs, 100);
    expect(stats.sinceMs).toBe(sinceMs);
    const expected = eventCounts(sinceMs);
    expect(statsMaps(stats)).toEqual(expected);
    expect(Object.keys(expected.hosts).length).toBeGreaterThan(1);
  });

  test('late events of a compacted day are added to its day rows, and /stats counts them', () => {
    now = END + 5 * MINUTE;
    for (let i = 0; i < 30; i += 1) record(D0 + DAY + 3 * HOUR + i * 13 * MINUTE, 1000 + i);
    record(D0 + DAY - 1, 7); // the last ms of a compacted day
    writer.flush();
    expectDaysAreSumsOfHours('host', 'client_ip');
    expectDaysAreSumsOfHours('domain', 'qname');
    for (const [, sinceMs] of windows) {
      expect(statsMaps(createEventQueries(connection).stats(sinceMs, 100))).toEqual(eventCounts(sinceMs));
    }
  });

  test('the overview top names count as /stats does', () => {
    const sinceMs = D0 + 7 * HOUR + 45 * MINUTE;
    const topNames = createEventQueries(connection).overview(sinceMs, 100).topNames;
    expect(topNames.map((n) => ({ domain: n.name, count: n.count }))).toEqual(
      createEventQueries(connection).stats(sinceMs, 100).topDomains,
    );
    expect(topNames.length).toBe(NAMES.length);
  });

  test('after retention prunes inside a compacted day, /stats counts what the hours alone count', async () => {
    // Cutoff D0 + 1 day + 7 h 30 min: hours below D0 + 1 day + 7 h go, so day D0 + 1 is read from hours.
    now = END + 5 * MINUTE;
    const cutoffMs = D0 + DAY + 7 * HOUR + 30 * MINUTE;
    await pruner((now - cutoffMs) / DAY).runOnce();
    expect(state()?.keptFrom).toBe(D0 + 2 * DAY);
    const oldDays = connection.db.prepare(`SELECT count(*) AS n FROM host_days WHERE day_ms < ${D0 + 2 * DAY}`);
    expect(oldDays.get()).toEqual({ n: 0 });
    expectDaysAreSumsOfHours('host', 'client_ip');
    expectDaysAreSumsOfHours('domain', 'qname');
    for (const sinceMs of [
      D0 - 3 * DAY,
      D0 + DAY + 3 * HOUR,
      D0 + DAY + 7 * HOUR,
      D0 + 2 * DAY,
      D0 + 3 * DAY + 5 * HOUR,
    ]) {
      const stats = createEventQueries(connection).stats(sinceMs, 100);
      expect(statsMaps(stats)).toEqual(hourCounts(sinceMs));
    }
    for (const sinceMs of [D0 + 2 * DAY + 1, D0 + 3 * DAY - 1, cutoffMs + 7 * MINUTE]) {
      expect(statsMaps(createEventQueries(connection).stats(sinceMs, 100))).toEqual(eventCounts(sinceMs));
    }
  });
});

describe('in the writer thread', () => {
  test('its pruner compacts the complete days of a file, and its batches add late events to them', async () => {
    const path = join(dir, 'thread.db');
    const wallNow = Date.now();
    const first = openStoreConnection(path, { log });
    const inProcess = createEventWriter({ connection: first, log });
    for (let i = 0; i < 200; i += 1) {
      inProcess.record(
        blockEvent(wallNow - 3 * DAY + i * 19 * MINUTE, {
          clientIp: `10.1.0.${i % 4}`,
          qname: `n${i % 6}.pool.example`,
        }),
      );
    }
    inProcess.close();
    const days = first.db.prepare<[], { compactedBelow: number }>(
      'SELECT compacted_below_ms AS compactedBelow FROM day_rollups',
    );
    expect(days.get()?.compactedBelow).toBe(0); // a new file: nothing compacted yet
    const writerThread = await startWriterThread({
      path,
      log,
      retentionDays: 30,
      maxEvents: 1_000_000,
      pruneIntervalMs: 50,
    });
    try {
      await until(() => (days.get()?.compactedBelow ?? 0) >= dayOf(wallNow - HOUR));
      const dayRows = first.db.prepare<[string, number], { count: number }>(
        'SELECT count FROM host_days WHERE client_ip = ? AND day_ms = ?',
      );
      const hourSum = first.db.prepare<[string, number, number], { n: number }>(
        `SELECT sum(count) AS n FROM host_hours WHERE client_ip = ? AND hour_ms >= ? AND hour_ms < ? + ${DAY}`,
      );
      const lateDay = dayOf(wallNow - 2 * DAY);
      const before = dayRows.get('10.1.0.1', lateDay)?.count ?? 0;
      expect(before).toBeGreaterThan(0);
      expect(before).toBe(hourSum.get('10.1.0.1', lateDay, lateDay)?.n);
      for (let i = 0; i < 5; i += 1) writerThread.record(blockEvent(lateDay + 3 * HOUR + i, { clientIp: '10.1.0.1' }));
      writerThread.flush();
      expect(dayRows.get('10.1.0.1', lateDay)?.count).toBe(before + 5);
      expect(hourSum.get('10.1.0.1', lateDay, lateDay)?.n).toBe(before + 5);
      const sinceMs = wallNow - 3 * DAY - HOUR;
      const stats = createEventQueries(first).stats(sinceMs, 100);
      const truth = first.db
        .prepare<[number], Row>(
          'SELECT client_ip AS key, sum(count) AS count FROM events WHERE time_ms >= ? GROUP BY 1',
        )
        .all(sinceMs);
      expect(statsMaps(stats).hosts).toEqual(asMap(truth));
    } finally {
      writerThread.close();
      await writerThread.exited;
      first.close();
    }
  });
});

describe('upgrade to v12', () => {
  test('fills the day rows of the days before the newest hour of an older file', () => {
    const path = join(dir, 'v11.db');
    const v11 = openDatabase(path, { log, migrations: MIGRATIONS.filter((m) => m.version <= 11) });
    const hostHour = v11.prepare('INSERT INTO host_hours (client_ip, hour_ms, count) VALUES (?, ?, ?)');
    const domainHour = v11.prepare('INSERT INTO domain_hours (qname, hour_ms, count) VALUES (?, ?, ?)');
    const listHour = v11.prepare("INSERT INTO list_hours (hour_ms, list, action, count) VALUES (?, 'l', 'blocked', ?)");
    for (const [hour, count] of [
      [D0 - HOUR, 1],
      [D0, 2],
      [D0 + 23 * HOUR, 3],
      [D0 + DAY, 4],
      [D0 + 2 * DAY + 5 * HOUR, 5],
    ] as const) {
      hostHour.run('10.0.0.1', hour, count);
      hostHour.run('10.0.0.2', hour, count * 10);
      domainHour.run('a.pool.example', hour, count);
      listHour.run(hour, count * 11);
    }
    v11.close();
    const db = openDatabase(path, { log });
    try {
      expect(db.prepare('SELECT compacted_below_ms AS c, kept_from_ms AS k FROM day_rollups').get()).toEqual({
        c: D0 + 2 * DAY,
        k: 0,
      });
      expect(db.prepare('SELECT client_ip, day_ms, count FROM host_days ORDER BY 1, 2').all()).toEqual([
        { client_ip: '10.0.0.1', day_ms: D0 - DAY, count: 1 },
        { client_ip: '10.0.0.1', day_ms: D0, count: 5 },
        { client_ip: '10.0.0.1', day_ms: D0 + DAY, count: 4 },
        { client_ip: '10.0.0.2', day_ms: D0 - DAY, count: 10 },
        { client_ip: '10.0.0.2', day_ms: D0, count: 50 },
        { client_ip: '10.0.0.2', day_ms: D0 + DAY, count: 40 },
      ]);
      expect(db.prepare('SELECT qname, day_ms, count FROM domain_days ORDER BY 1, 2').all()).toEqual([
        { qname: 'a.pool.example', day_ms: D0 - DAY, count: 1 },
        { qname: 'a.pool.example', day_ms: D0, count: 5 },
        { qname: 'a.pool.example', day_ms: D0 + DAY, count: 4 },
      ]);
    } finally {
      db.close();
    }
  });

  test('a new file has nothing compacted', () => {
    const db = openDatabase(join(dir, 'new.db'), { log });
    try {
      expect(db.prepare('SELECT compacted_below_ms AS c, kept_from_ms AS k FROM day_rollups').get()).toEqual({
        c: 0,
        k: 0,
      });
    } finally {
      db.close();
    }
  });
});
