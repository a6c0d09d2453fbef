import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { BlockEvent } from '../../src/dns/block-event.js';
import { isPoolsinkError } from '../../src/errors.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';
import { createPruner, type PrunerOptions } from '../../src/store/retention.js';
import { blockEvent as makeBlockEvent } from '../helpers/block-events.js';

const log = pino({ level: 'silent' });
const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 1, 12, 0);

function blockEvent(overrides: Partial<BlockEvent> = {}): BlockEvent {
  return makeBlockEvent(NOW, overrides);
}

let dir: string;
let connection: StoreConnection;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-store-retention-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
});

afterEach(() => {
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

function write(events: readonly BlockEvent[], outcomesAt: readonly number[] = []): void {
  let now = NOW;
  const writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, clock: () => now });
  for (const event of events) writer.record(event);
  for (const t of outcomesAt) {
    now = t;
    writer.addOutcomes({ forwarded: 1 });
  }
  writer.close();
}

function count(sql: string): number {
  return connection.db.prepare<[], { n: number }>(sql).get()?.n ?? 0;
}

function pruner(options: Partial<PrunerOptions> = {}) {
  return createPruner({ connection, log, retentionDays: 30, maxEvents: 1_000_000, clock: () => NOW, ...options });
}

describe('pruner', () => {
  test('deletes events older than retentionDays, in small batches, and keeps host summaries', async () => {
    const events: BlockEvent[] = [];
    for (let day = 0; day < 40; day += 1) {
      events.push(
        blockEvent({
          timeMs: NOW - day * DAY - 1000,
          clientIp: day < 35 ? '10.0.0.1' : '10.0.0.2',
          qname: `d${day}.pool.example`,
        }),
      );
    }
    write(events);
    const result = await pruner({ batchSize: 3 }).runOnce();
    expect(result.eventsByAge).toBe(10); // days 30..39 are older than 30 days
    expect(count('SELECT count(*) AS n FROM events')).toBe(30);
    expect(count(`SELECT count(*) AS n FROM events WHERE time_ms < ${NOW - 30 * DAY}`)).toBe(0);
    // Host rows outlive the events: 10.0.0.2 has no events left but is still listed with its count;
    // the names last seen before the cutoff are gone from its summary (issue 11 #1).
    const hosts = createEventQueries(connection).hosts(undefined, 10);
    expect(hosts.map((h) => [h.clientIp, h.blockedCount, h.distinctDomains])).toEqual([
      ['10.0.0.1', 35, 30],
      ['10.0.0.2', 5, 0],
    ]);
    expect(count('SELECT count(*) AS n FROM host_domains')).toBe(30);
  });

  test('deletes the oldest events beyond maxEvents', async () => {
    const events = Array.from({ length: 50 }, (_, i) => blockEvent({ timeMs: NOW - 1000 + i, clientPort: i }));
    write(events);
    const result = await pruner({ maxEvents: 20, batchSize: 7 }).runOnce();
    expect(result.eventsByCount).toBe(30);
    const ports = connection.db
      .prepare<[], { client_port: number }>('SELECT client_port FROM events ORDER BY id')
      .all();
    expect(ports.map((r) => r.client_port)).toEqual(Array.from({ length: 20 }, (_, i) => 30 + i));
    expect(createEventQueries(connection).host('10.0.0.1', 0)?.summary.blockedCount).toBe(50);
  });

  test('deletes hourly rollups, outcome minutes and outcome hours older than retentionDays', async () => {
    const old = NOW - 40 * DAY;
    write(
      [
        blockEvent({ timeMs: old, clientIp: '10.0.0.1', qname: 'old.pool.example' }),
        blockEvent({ timeMs: NOW - 1000, clientIp: '10.0.0.2', qname: 'new.pool.example' }),
      ],
      [old, NOW - 1000],
    );
    const tables = ['host_hours', 'domain_hours', 'list_hours', 'outcome_minutes', 'outcome_hours'];
    for (const table of tables) expect(count(`SELECT count(*) AS n FROM ${table}`)).toBe(2);
    const result = await pruner().runOnce();
    expect(result.rollupRows).toBe(5);
    for (const table of tables) expect(count(`SELECT count(*) AS n FROM ${table}`)).toBe(1);
    expect(count('SELECT count(*) AS n FROM hosts')).toBe(2);
    expect(count('SELECT count(*) AS n FROM domains')).toBe(1); // old.pool.example went too (issue 11 #1)
  });

  test('outcome minutes and hours go below the same hour, so each hour still sums its minutes', async () => {
    // The cutoff (NOW - 30 days) falls 20 minutes into an hour: that hour's minutes before it stay.
    const clock = () => NOW + 20 * 60_000;
    const cutoffHour = NOW - 30 * DAY;
    const minutes = [-2 * 3_600_000, -61 * 60_000, -60_000, 0, 5 * 60_000, 19 * 60_000, 20 * 60_000, 3_600_000];
    write(
      [],
      minutes.map((m) => cutoffHour + m),
    );
    const result = await pruner({ clock, batchSize: 1 }).runOnce();
    expect(result.rollupRows).toBe(3 + 2); // three minutes and two hours before cutoffHour
    expect(
      connection.db.prepare<[], { minute_ms: number }>('SELECT minute_ms FROM outcome_minutes ORDER BY 1').all(),
    ).toEqual(minutes.filter((m) => m >= 0).map((m) => ({ minute_ms: cutoffHour + m })));
    expect(connection.db.prepare('SELECT hour_ms, count FROM outcome_hours ORDER BY 1').all()).toEqual([
      { hour_ms: cutoffHour, count: 4 },
      { hour_ms: cutoffHour + 3_600_000, count: 1 },
    ]);
    expect(createEventQueries(connection).stats(0, 10).outcomes).toEqual({ forwarded: 5 });
  });

  test('yields to the event loop between batches', async () => {
    write(Array.from({ length: 40 }, (_, i) => blockEvent({ timeMs: NOW - 31 * DAY + i })));
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns += 1;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const result = await pruner({ batchSize: 4 }).runOnce();
    counting = false;
    expect(result.eventsByAge).toBe(40);
    expect(turns).toBeGreaterThanOrEqual(9);
  });

  test('stop() ends a run at its next batch', async () => {
    write(Array.from({ length: 100 }, (_, i) => blockEvent({ timeMs: NOW - 31 * DAY + i })));
    const p = pruner({ batchSize: 10 });
    const run = p.runOnce();
    await p.stop();
    const result = await run;
    expect(result.eventsByAge).toBeLessThan(100);
    expect(count('SELECT count(*) AS n FROM events')).toBe(100 - result.eventsByAge);
  });

  test('start() prunes at once and on its interval', async () => {
    write([blockEvent({ timeMs: NOW - 31 * DAY })]);
    const p = pruner({ intervalMs: 60_000 });
    p.start();
    await p.runOnce(); // joins the run start() began
    expect(count('SELECT count(*) AS n FROM events')).toBe(0);
    await p.stop();
  });

  test.each([
    ['retentionDays', { retentionDays: 0 }],
    ['maxEvents', { maxEvents: 1.5 }],
    ['batchSize', { batchSize: 0 }],
  ])('rejects a bad %s', (name, options) => {
    let error: unknown;
    try {
      pruner(options);
    } catch (err: unknown) {
      error = err;
    }
    expect(isPoolsinkError(error, 'ERR_CONFIG_INVALID')).toBe(true);
    expect(String(error)).toContain(name);
  });
});
