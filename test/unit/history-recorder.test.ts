/**
 * The DNS thread's query-history recorder: one shipped key per (client, name, hour), repeats counted
 * without a message, the per-hour bound, the hour's change, and the batches it ships.
 */
import { pino } from 'pino';
import { describe, expect, test, vi } from 'vitest';
import type { HistoryBatch } from '../../src/store/history-protocol.js';
import { createHistoryRecorder } from '../../src/store/history-recorder.js';

const HOUR = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % HOUR); // an hour's start

function recorder(options: { maxPerHour?: number; batchSize?: number } = {}) {
  const batches: HistoryBatch[] = [];
  const warnings: unknown[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  const r = createHistoryRecorder({
    maxPerHour: options.maxPerHour ?? 1000,
    batchSize: options.batchSize ?? 1000,
    delayMs: 60_000,
    ship: (batch) => batches.push(batch),
    log,
  });
  /** Every shipped row as [client, qname, hourMs, firstMs, count]. */
  const rows = () =>
    batches.flatMap((b) => b.clientIps.map((c, i) => [c, b.qnames[i], b.hourMs, b.firstMs[i], b.counts[i]]));
  return { r, batches, rows, warnings };
}

describe('history recorder', () => {
  test('a repeated (client, name) in one hour ships nothing until flush, then its repeats as one count', () => {
    const { r, batches, rows } = recorder();
    r.note('10.0.0.1', 'pool.example', T0 + 5);
    for (let i = 0; i < 99; i += 1) r.note('10.0.0.1', 'pool.example', T0 + 10 + i);
    expect(batches).toHaveLength(0); // below batchSize, before delayMs: nothing shipped yet
    expect(r.stats.pairs).toBe(1);
    r.flush();
    // The new key with its first time, then the 99 repeats at the hour's last ms (the upsert keeps the real first).
    expect(rows()).toEqual([
      ['10.0.0.1', 'pool.example', T0, T0 + 5, 1],
      ['10.0.0.1', 'pool.example', T0, T0 + HOUR - 1, 99],
    ]);
    r.flush();
    expect(batches).toHaveLength(2); // nothing new: no empty batch
  });

  test.each([
    ['another client', '10.0.0.2', 'pool.example'],
    ['another name', '10.0.0.1', 'x.pool.example'],
  ])('%s is a new key', (_label, client, qname) => {
    const { r, rows } = recorder();
    r.note('10.0.0.1', 'pool.example', T0);
    r.note(client, qname, T0 + 1);
    r.flush();
    expect(rows()).toEqual([
      ['10.0.0.1', 'pool.example', T0, T0, 1],
      [client, qname, T0, T0 + 1, 1],
    ]);
  });

  test('the next hour starts a new table: the same key is shipped again for it', () => {
    const { r, rows } = recorder();
    r.note('10.0.0.1', 'pool.example', T0 + 1);
    r.note('10.0.0.1', 'pool.example', T0 + HOUR + 2);
    r.flush();
    expect(rows()).toEqual([
      ['10.0.0.1', 'pool.example', T0, T0 + 1, 1],
      ['10.0.0.1', 'pool.example', T0 + HOUR, T0 + HOUR + 2, 1],
    ]);
  });

  test('a full batch ships at once', () => {
    const { r, batches } = recorder({ batchSize: 3 });
    for (let i = 0; i < 7; i += 1) r.note('10.0.0.1', `n${i}.example`, T0 + i);
    expect(batches.map((b) => b.clientIps.length)).toEqual([3, 3]);
  });

  test('maxPerHour bounds the table: further new keys are dropped and counted, repeats still count, one warning at the hour end', () => {
    const { r, rows, warnings } = recorder({ maxPerHour: 2 });
    r.note('10.0.0.1', 'a.example', T0);
    r.note('10.0.0.1', 'b.example', T0);
    r.note('10.0.0.1', 'c.example', T0);
    r.note('10.0.0.2', 'a.example', T0);
    r.note('10.0.0.1', 'a.example', T0 + 1); // a repeat of a kept key
    expect(r.stats).toMatchObject({ pairs: 2, dropped: 2 });
    expect(warnings).toHaveLength(0);
    r.note('10.0.0.3', 'd.example', T0 + HOUR); // next hour: room again
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ dropped: 2, maxPerHour: 2 });
    r.flush();
    expect(rows().map((row) => row.slice(0, 2).join(' '))).toEqual([
      '10.0.0.1 a.example',
      '10.0.0.1 b.example',
      '10.0.0.1 a.example', // its repeat, shipped when the hour ended
      '10.0.0.3 d.example',
    ]);
  });

  test('a clock going back starts the hour again rather than writing into a later one', () => {
    const { r, rows } = recorder();
    r.note('10.0.0.1', 'a.example', T0 + HOUR);
    r.note('10.0.0.1', 'a.example', T0 + 5);
    r.flush();
    expect(rows().map((row) => row[2])).toEqual([T0 + HOUR, T0]);
  });

  test('repeat counts are shipped every repeatsEveryMs, only what was added since', () => {
    vi.useFakeTimers();
    try {
      const batches: HistoryBatch[] = [];
      const r = createHistoryRecorder({
        maxPerHour: 10,
        delayMs: 100,
        repeatsEveryMs: 1000,
        ship: (batch) => batches.push(batch),
        log: pino({ level: 'silent' }),
      });
      r.note('10.0.0.1', 'a.example', T0);
      r.note('10.0.0.1', 'a.example', T0 + 1);
      r.note('10.0.0.1', 'a.example', T0 + 2);
      vi.advanceTimersByTime(100);
      expect(batches.map((b) => b.counts)).toEqual([[1]]); // the new key, after delayMs
      vi.advanceTimersByTime(900);
      expect(batches.map((b) => b.counts)).toEqual([[1], [2]]); // its repeats, at repeatsEveryMs
      vi.advanceTimersByTime(1000);
      expect(batches).toHaveLength(2); // nothing new: nothing shipped
      r.close();
    } finally {
      vi.useRealTimers();
    }
  });

  test('close() ships what is queued; later notes are ignored', () => {
    const { r, rows } = recorder();
    r.note('10.0.0.1', 'a.example', T0);
    r.close();
    r.note('10.0.0.1', 'b.example', T0);
    r.flush();
    expect(rows()).toHaveLength(1);
  });

  test.each([0, -1, 1.5, Number.NaN])('maxPerHour %s is refused, naming it', (maxPerHour) => {
    expect(() => createHistoryRecorder({ maxPerHour, ship: () => undefined, log: pino({ level: 'silent' }) })).toThrow(
      /maxPerHour must be a positive integer/,
    );
  });
});
