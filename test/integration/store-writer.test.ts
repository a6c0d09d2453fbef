import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { BlockEvent } from '../../src/dns/block-event.js';
import { isPoolsinkError } from '../../src/errors.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter, type EventWriterOptions } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';
import type { EventWriter } from '../../src/store/types.js';
import { blockEvent as makeBlockEvent } from '../helpers/block-events.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 15, 10, 30);
const HOUR = 3_600_000;

function blockEvent(overrides: Partial<BlockEvent> = {}): BlockEvent {
  return makeBlockEvent(T0, overrides);
}

/** A pino logger whose lines are collected, for asserting on warnings. */
function capturingLog(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = {
    write(line: string): void {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null && 'level' in parsed && 'msg' in parsed) {
        lines.push({ level: Number(parsed.level), msg: String(parsed.msg) });
      }
    },
  };
  return { log: pino({ level: 'info' }, stream), lines };
}

let dir: string;
let connection: StoreConnection;
let writer: EventWriter | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-store-writer-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
});

afterEach(() => {
  writer?.close();
  writer = undefined;
  vi.useRealTimers();
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(options: Partial<EventWriterOptions> = {}): EventWriter {
  writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, ...options });
  return writer;
}

function rowCount(table = 'events'): number {
  const row = connection.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get();
  return row?.n ?? 0;
}

describe('event writer: batching', () => {
  test('record() never writes; the timer writes what is buffered', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
    const w = start({ flushIntervalMs: 250 });
    for (let i = 0; i < 10; i += 1) w.record(blockEvent({ clientPort: i }));
    expect(rowCount()).toBe(0);
    expect(w.stats.buffered).toBe(10);
    vi.advanceTimersByTime(250);
    expect(rowCount()).toBe(10);
    expect(w.stats).toMatchObject({ buffered: 0, written: 10, dropped: 0, healthy: true });
  });

  test('reaching batchSize schedules a write on the next turn, not inside record()', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate', 'clearImmediate'] });
    const w = start({ batchSize: 5, maxBatchSize: 5 });
    for (let i = 0; i < 12; i += 1) w.record(blockEvent({ clientPort: i }));
    expect(rowCount()).toBe(0);
    vi.advanceTimersToNextTimer(); // the setImmediate from the 5th event: a full batch, then another on the next turn
    expect(rowCount()).toBe(5);
    vi.advanceTimersToNextTimer();
    expect(rowCount()).toBe(10);
    expect(w.stats.buffered).toBe(2); // a partial batch waits for the timer
  });

  test('a backlog goes out in larger transactions, up to maxBatchSize', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate', 'clearImmediate'] });
    const w = start({ batchSize: 5, maxBatchSize: 20 });
    for (let i = 0; i < 33; i += 1) w.record(blockEvent({ clientPort: i }));
    vi.advanceTimersToNextTimer();
    expect(rowCount()).toBe(20);
    vi.advanceTimersToNextTimer();
    expect(rowCount()).toBe(33); // the 13 left are still more than two batches
    for (let i = 0; i < 12; i += 1) w.record(blockEvent({ clientPort: i }));
    vi.advanceTimersToNextTimer();
    expect(rowCount()).toBe(45);
    for (let i = 0; i < 7; i += 1) w.record(blockEvent({ clientPort: i }));
    vi.advanceTimersToNextTimer();
    expect(rowCount()).toBe(50); // 7 is no backlog: one batch of 5, the rest waits for the timer
    expect(w.stats.buffered).toBe(2);
  });

  test('stores every field, in order, with the reversed name', () => {
    const w = start();
    w.record(blockEvent({ qname: 'a.pool.example', protocol: 'tcp', qtype: 28, via: 'cname.pool.example' }));
    w.record(
      blockEvent({ timeMs: T0 + 1, action: 'alerted', answer: 'forwarded', list: 'trial', rule: 'pool.example' }),
    );
    w.flush();
    const rows = connection.db
      .prepare(
        'SELECT time_ms, client_ip, client_port, protocol, qname, rname, qtype, list, rule, action, answer, via FROM events ORDER BY id',
      )
      .all();
    expect(rows).toEqual([
      {
        time_ms: T0,
        client_ip: '10.0.0.1',
        client_port: 40000,
        protocol: 'tcp',
        qname: 'a.pool.example',
        rname: 'example.pool.a.',
        qtype: 28,
        list: 'miners',
        rule: 'pool.example',
        action: 'blocked',
        answer: 'nxdomain',
        via: 'cname.pool.example',
      },
      {
        time_ms: T0 + 1,
        client_ip: '10.0.0.1',
        client_port: 40000,
        protocol: 'udp',
        qname: 'pool.example',
        rname: 'example.pool.',
        qtype: 1,
        list: 'trial',
        rule: 'pool.example',
        action: 'alerted',
        answer: 'forwarded',
        via: null,
      },
    ]);
  });

  test('host summaries and rollups add up across batches and flushes', () => {
    const w = start({ batchSize: 3, rollupIntervalMs: 0 });
    const events = [
      blockEvent({ clientIp: '10.0.0.1', qname: 'a.pool.example', timeMs: T0 }),
      blockEvent({ clientIp: '10.0.0.1', qname: 'a.pool.example', timeMs: T0 + 10 }),
      blockEvent({ clientIp: '10.0.0.1', qname: 'b.pool.example', timeMs: T0 + HOUR }),
      blockEvent({ clientIp: '10.0.0.2', qname: 'a.pool.example', timeMs: T0 + 5, action: 'alerted', list: 'trial' }),
    ];
    for (const event of events.slice(0, 2)) w.record(event);
    w.flush();
    for (const event of events.slice(2)) w.record(event);
    w.flush();
    expect(
      connection.db
        .prepare(
          'SELECT client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains FROM hosts ORDER BY client_ip',
        )
        .all(),
    ).toEqual([
      { client_ip: '10.0.0.1', first_seen_ms: T0, last_seen_ms: T0 + HOUR, blocked_count: 3, distinct_domains: 2 },
      { client_ip: '10.0.0.2', first_seen_ms: T0 + 5, last_seen_ms: T0 + 5, blocked_count: 1, distinct_domains: 1 },
    ]);
    expect(
      connection.db
        .prepare('SELECT client_ip, qname, count, last_seen_ms FROM host_domains ORDER BY client_ip, qname')
        .all(),
    ).toEqual([
      { client_ip: '10.0.0.1', qname: 'a.pool.example', count: 2, last_seen_ms: T0 + 10 },
      { client_ip: '10.0.0.1', qname: 'b.pool.example', count: 1, last_seen_ms: T0 + HOUR },
      { client_ip: '10.0.0.2', qname: 'a.pool.example', count: 1, last_seen_ms: T0 + 5 },
    ]);
    const hour = Math.floor(T0 / HOUR) * HOUR;
    expect(
      connection.db.prepare('SELECT client_ip, hour_ms, count FROM host_hours ORDER BY client_ip, hour_ms').all(),
    ).toEqual([
      { client_ip: '10.0.0.1', hour_ms: hour, count: 2 },
      { client_ip: '10.0.0.1', hour_ms: hour + HOUR, count: 1 },
      { client_ip: '10.0.0.2', hour_ms: hour, count: 1 },
    ]);
    expect(
      connection.db.prepare('SELECT hour_ms, list, action, count FROM list_hours ORDER BY hour_ms, list').all(),
    ).toEqual([
      { hour_ms: hour, list: 'miners', action: 'blocked', count: 2 },
      { hour_ms: hour, list: 'trial', action: 'alerted', count: 1 },
      { hour_ms: hour + HOUR, list: 'miners', action: 'blocked', count: 1 },
    ]);
    expect(connection.db.prepare('SELECT qname, blocked_count FROM domains ORDER BY qname').all()).toEqual([
      { qname: 'a.pool.example', blocked_count: 3 },
      { qname: 'b.pool.example', blocked_count: 1 },
    ]);
  });

  test('many rollup keys wait for rollupIntervalMs, then go out with a batch', () => {
    let now = T0;
    const w = start({ rollupIntervalMs: 1000, eagerRollupKeys: 0, clock: () => now });
    w.record(blockEvent());
    w.flush();
    expect(rowCount('hosts')).toBe(1); // flush() writes everything
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate', 'clearImmediate'] });
    const timed = createEventWriter({
      connection,
      log,
      flushIntervalMs: 100,
      rollupIntervalMs: 1000,
      eagerRollupKeys: 0,
      clock: () => now,
    });
    try {
      timed.record(blockEvent({ clientIp: '10.0.0.9' }));
      vi.advanceTimersByTime(100);
      expect(rowCount()).toBe(2);
      expect(rowCount('hosts')).toBe(1);
      now += 1000;
      vi.advanceTimersByTime(100);
      expect(rowCount('hosts')).toBe(2);
    } finally {
      timed.close();
    }
  });

  test('few rollup keys go out with the next batch', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate', 'clearImmediate'] });
    const w = start({ flushIntervalMs: 100 });
    w.record(blockEvent());
    vi.advanceTimersByTime(100); // the event
    vi.advanceTimersByTime(100); // its rollups
    expect(rowCount('hosts')).toBe(1);
  });

  test('addOutcomes counts per minute, written with the rollups', () => {
    let now = T0;
    const w = start({ clock: () => now });
    w.addOutcomes({ forwarded: 3, cached: 2, blocked: 0 });
    w.addOutcomes({ forwarded: 1 });
    now += 60_000;
    w.addOutcomes({ refused: 4, servfail: Number.NaN });
    w.flush();
    expect(
      connection.db.prepare('SELECT minute_ms, outcome, count FROM outcome_minutes ORDER BY minute_ms, outcome').all(),
    ).toEqual([
      { minute_ms: T0, outcome: 'cached', count: 2 },
      { minute_ms: T0, outcome: 'forwarded', count: 4 },
      { minute_ms: T0 + 60_000, outcome: 'refused', count: 4 },
    ]);
  });

  test('close() writes what is buffered and later records are dropped, counted', () => {
    const w = start();
    w.record(blockEvent());
    w.close();
    expect(rowCount()).toBe(1);
    w.record(blockEvent());
    expect(w.stats.dropped).toBe(1);
  });

  test.each([
    ['batchSize', { batchSize: 0 }],
    ['flushIntervalMs', { flushIntervalMs: 1.5 }],
    ['maxBuffered', { maxBuffered: -1 }],
    ['rollupIntervalMs', { rollupIntervalMs: -1 }],
  ])('rejects a bad %s', (name, options) => {
    expect(() => createEventWriter({ connection, log, ...options })).toThrow(name);
    try {
      createEventWriter({ connection, log, ...options });
    } catch (err: unknown) {
      expect(isPoolsinkError(err, 'ERR_CONFIG_INVALID')).toBe(true);
    }
  });
});

describe('event writer: bounded buffer and failures', () => {
  test('a full buffer drops new events, counts them, and warns at most once a minute', () => {
    const { log: sink, lines } = capturingLog();
    let now = T0;
    const w = createEventWriter({
      connection,
      log: sink,
      flushIntervalMs: 3_600_000,
      maxBuffered: 10,
      clock: () => now,
    });
    writer = w;
    for (let i = 0; i < 25; i += 1) w.record(blockEvent({ clientPort: i }));
    expect(w.stats).toMatchObject({ buffered: 10, dropped: 15 });
    now += 59_000;
    w.record(blockEvent());
    now += 2000;
    w.record(blockEvent());
    const warnings = lines.filter((line) => line.msg.startsWith('block log buffer full'));
    expect(warnings).toHaveLength(2);
    w.flush();
    expect(rowCount()).toBe(10);
    // The oldest events are the ones kept.
    expect(
      connection.db
        .prepare<[], { client_port: number }>('SELECT client_port FROM events ORDER BY id')
        .all()
        .map((r) => r.client_port),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const stats = createEventQueries(connection).stats(T0 - HOUR, 10);
    expect(stats.droppedEvents).toBe(17);
    expect(stats.outcomes).toEqual({});
  });

  test('a failed write keeps the batch, marks the writer unhealthy and resumes when writes work again', () => {
    const { log: sink, lines } = capturingLog();
    const w = createEventWriter({ connection, log: sink, flushIntervalMs: 3_600_000, maxBuffered: 50, batchSize: 10 });
    writer = w;
    for (let i = 0; i < 30; i += 1) w.record(blockEvent({ clientPort: i }));
    connection.db.pragma('query_only = ON');
    w.flush();
    w.flush();
    expect(w.stats).toMatchObject({ buffered: 30, written: 0, healthy: false, writeErrors: 2 });
    expect(w.stats.lastError).toContain('SQLITE_READONLY');
    expect(lines.filter((line) => line.msg.startsWith('block log write failed'))).toHaveLength(1);
    for (let i = 30; i < 60; i += 1) w.record(blockEvent({ clientPort: i }));
    expect(w.stats).toMatchObject({ buffered: 50, dropped: 10 });
    connection.db.pragma('query_only = OFF');
    w.flush();
    expect(w.stats).toMatchObject({ buffered: 0, written: 50, dropped: 10, healthy: true });
    expect(rowCount()).toBe(50);
    expect(
      connection.db.prepare<[], { blocked_count: number }>('SELECT blocked_count FROM hosts').get()?.blocked_count,
    ).toBe(50);
    expect(lines.some((line) => line.msg === 'block log writes resumed')).toBe(true);
  });

  test('the timer retries failed writes, backing off, and resumes', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
    const w = start({ flushIntervalMs: 100 });
    w.record(blockEvent());
    connection.db.pragma('query_only = ON');
    vi.advanceTimersByTime(100);
    expect(w.stats).toMatchObject({ healthy: false, buffered: 1, writeErrors: 1 });
    vi.advanceTimersByTime(100); // retry 1 (100 ms after the failure)
    vi.advanceTimersByTime(100); // too soon: the next retry waits 200 ms
    expect(w.stats.writeErrors).toBe(2);
    vi.advanceTimersByTime(10_000);
    expect(w.stats.writeErrors).toBeLessThanOrEqual(7); // 400, 800, 1600, 3200, then every 5 s
    connection.db.pragma('query_only = OFF');
    vi.advanceTimersByTime(5000);
    expect(w.stats).toMatchObject({ healthy: true, buffered: 0, written: 1 });
  });
});
