/**
 * The block-log writer thread against a real SQLite file: events posted from this thread reach the
 * file, the buffer bound holds across both threads while another connection holds the write lock,
 * the worker's logs arrive through this thread's logger, and a thread that dies is replaced.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import { openDatabase } from '../../src/store/database.js';
import { EVENTS_DROPPED_OUTCOME } from '../../src/store/schema.js';
import { startWriterThread, type WriterThread } from '../../src/store/writer-thread.js';
import { blockEvent } from '../helpers/block-events.js';
import { until } from '../helpers/wait.js';

let dir: string;
let path: string;
let writer: WriterThread | undefined;
let lines: Record<string, unknown>[];

function capturingLog() {
  lines = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

function count(sql: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[], { n: number }>(sql).get()?.n ?? 0;
  } finally {
    db.close();
  }
}

/** The nice value of one thread of this process (field 19 of /proc/self/task/TID/stat). */
function threadNice(tid: number | string): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  } catch {
    return undefined; // the thread ended between readdir and read
  }
}

function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task')
    .map(threadNice)
    .filter((nice): nice is number => nice !== undefined);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-writer-thread-'));
  path = join(dir, 'poolsink.db');
  // The DNS thread opens (and migrates) the file first, as startPoolsink does.
  openDatabase(path, { log: pino({ level: 'silent' }) }).close();
});

afterEach(async () => {
  if (writer !== undefined) {
    writer.close();
    await writer.exited;
    writer = undefined;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('writer thread', () => {
  test('events recorded here are rows in the file after flush(), with rollups; close() ends the thread', async () => {
    writer = await startWriterThread({ path, log: capturingLog(), retentionDays: 30, maxEvents: 1_000_000 });
    const now = Date.now();
    for (let i = 0; i < 1200; i += 1)
      writer.record(blockEvent(now + i, { clientIp: `10.0.0.${i % 3}`, qname: `q${i % 7}.pool.example` }));
    writer.addOutcomes({ blocked: 1200, forwarded: 5 }, now);
    writer.flush();
    expect(writer.stats).toMatchObject({ buffered: 0, written: 1200, dropped: 0, writeErrors: 0, healthy: true });
    expect(count('SELECT count(*) AS n FROM events')).toBe(1200);
    expect(count('SELECT sum(blocked_count) AS n FROM hosts')).toBe(1200);
    expect(count('SELECT count(*) AS n FROM hosts')).toBe(3);
    expect(count("SELECT sum(count) AS n FROM outcome_minutes WHERE outcome = 'blocked'")).toBe(1200);
    writer.record(blockEvent(now, { qname: 'last.pool.example' }));
    const closing = writer;
    writer = undefined;
    closing.close();
    await closing.exited;
    expect(closing.stats.written).toBe(1201);
    expect(count("SELECT count(*) AS n FROM events WHERE qname = 'last.pool.example'")).toBe(1);
    // After close, events are dropped and counted, never queued for a thread that is gone.
    closing.record(blockEvent(now));
    expect(closing.stats.dropped).toBe(1);
  });

  test.skipIf(!existsSync('/proc/self/task'))(
    'the writer thread runs at nice 10, the rest of the process keeps its priority',
    async () => {
      const before = threadNiceValues();
      const mainBefore = threadNice(process.pid);
      writer = await startWriterThread({ path, log: capturingLog(), retentionDays: 30, maxEvents: 1000 });
      const after = threadNiceValues();
      expect(after.filter((nice) => nice === 10).length).toBe(before.filter((nice) => nice === 10).length + 1);
      expect(threadNice(process.pid)).toBe(mainBefore);
      expect(mainBefore).not.toBe(10);
    },
  );

  test('a database that cannot be opened rejects the start with ERR_STORE_OPEN naming the path', async () => {
    writeFileSync(join(dir, 'plain-file'), 'x');
    const bad = join(dir, 'plain-file', 'poolsink.db');
    let thrown: unknown;
    try {
      writer = await startWriterThread({ path: bad, log: capturingLog(), retentionDays: 30, maxEvents: 1000 });
    } catch (err: unknown) {
      thrown = err;
    }
    expect(isPoolsinkError(thrown, 'ERR_STORE_OPEN')).toBe(true);
    expect((thrown as Error).message).toContain('plain-file');
  });

  test('while another connection holds the write lock, the bound holds across both threads and drops are counted', async () => {
    writer = await startWriterThread({
      path,
      log: capturingLog(),
      retentionDays: 30,
      maxEvents: 1_000_000,
      maxBuffered: 1000,
      flushIntervalMs: 20,
    });
    const intruder = new Database(path);
    intruder.exec('BEGIN IMMEDIATE');
    const now = Date.now();
    try {
      // Two hosts; the second one's events all come after the buffer is full.
      for (let i = 0; i < 1500; i += 1)
        writer.record(blockEvent(now + i, i < 1200 ? {} : { clientIp: '10.0.0.99', qname: 'late.pool.example' }));
      expect(writer.stats.dropped).toBe(500);
      expect(writer.stats.buffered).toBe(1000);
      // The worker's SQLITE_BUSY warning arrives through this thread's logger.
      await until(
        () => lines.some((l) => l['msg'] === 'block log write failed; events stay buffered and are retried'),
        15_000,
      );
      const warning = lines.find((l) => l['msg'] === 'block log write failed; events stay buffered and are retried');
      expect(warning).toMatchObject({ thread: 'writer', level: 40 });
      expect(String(warning?.['err'])).toMatch(/SQLITE_BUSY/);
      expect(writer.stats.healthy).toBe(false);
      expect(
        lines.some((l) =>
          String(l['msg']).startsWith('block log buffer full: dropping events until the writer catches up'),
        ),
      ).toBe(true);
    } finally {
      intruder.exec('COMMIT');
      intruder.close();
    }
    writer.flush();
    expect(writer.stats).toMatchObject({ buffered: 0, written: 1000, dropped: 500, healthy: true });
    expect(count('SELECT count(*) AS n FROM events')).toBe(1000);
    expect(count(`SELECT sum(count) AS n FROM outcome_minutes WHERE outcome = '${EVENTS_DROPPED_OUTCOME}'`)).toBe(500);
    // Dropped events have no rows, but the summaries count them: the late host is known.
    expect(count("SELECT count(*) AS n FROM events WHERE client_ip = '10.0.0.99'")).toBe(0);
    expect(count("SELECT blocked_count AS n FROM hosts WHERE client_ip = '10.0.0.99'")).toBe(300);
    expect(
      count("SELECT count AS n FROM host_domains WHERE client_ip = '10.0.0.99' AND qname = 'late.pool.example'"),
    ).toBe(300);
    expect(count('SELECT sum(blocked_count) AS n FROM hosts')).toBe(1500);
    expect(count('SELECT sum(count) AS n FROM list_hours')).toBe(1500);
  });

  test('a database file deleted while open is reopened by the thread, which tells this thread', async () => {
    let reopened = 0;
    writer = await startWriterThread({
      path,
      log: capturingLog(),
      retentionDays: 30,
      maxEvents: 1_000_000,
      onReopened: () => (reopened += 1),
    });
    const now = Date.now();
    writer.record(blockEvent(now, { qname: 'before.pool.example' }));
    writer.flush();
    unlinkSync(path);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    writer.record(blockEvent(now + 1, { qname: 'after.pool.example' }));
    writer.flush();
    await until(() => reopened === 1);
    expect(
      lines.some(
        (l) =>
          l['msg'] === 'database file was deleted or replaced while open; reopened the path' &&
          l['thread'] === 'writer',
      ),
    ).toBe(true);
    // The new file has the schema and the event recorded after the deletion.
    expect(count("SELECT count(*) AS n FROM events WHERE qname = 'after.pool.example'")).toBe(1);
    expect(count("SELECT count(*) AS n FROM events WHERE qname = 'before.pool.example'")).toBe(0);
  });

  test('list-store writes go through the thread: committed when they resolve, a clash is ERR_CONFLICT, a held lock never stalls this thread', async () => {
    writer = await startWriterThread({ path, log: capturingLog(), retentionDays: 30, maxEvents: 1000 });
    const row = {
      name: 'extra',
      source: 'https://lists.test/a.txt',
      format: 'auto',
      mode: 'block',
      refreshSec: 3600,
      maxShrinkPercent: 50,
      createdMs: 1,
    } as const;
    await writer.writeListStore({ method: 'insertRuntimeList', args: [row] });
    expect(count("SELECT count(*) AS n FROM runtime_lists WHERE name = 'extra'")).toBe(1);
    let err: unknown;
    try {
      await writer.writeListStore({ method: 'insertRuntimeList', args: [row] });
    } catch (caught: unknown) {
      err = caught;
    }
    expect(isPoolsinkError(err, 'ERR_CONFLICT')).toBe(true);
    expect((err as Error).message).toContain('"extra"');

    // Another connection holds the write lock: the write waits in the writer thread, not here.
    const intruder = new Database(path);
    intruder.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    let done = false;
    const pending = writer
      .writeListStore({ method: 'insertAllowed', args: [{ domain: 'ok.example', createdMs: 2 }] })
      .then(() => (done = true));
    // This thread's own timer is the clock: 30 ticks (~300 ms) of it ran while the write stayed pending.
    await until(() => ticks >= 30);
    clearInterval(ticker);
    expect(done).toBe(false);
    expect(ticks).toBeGreaterThan(10);
    intruder.exec('COMMIT');
    intruder.close();
    await pending;
    expect(count("SELECT count(*) AS n FROM runtime_allowlist WHERE domain = 'ok.example'")).toBe(1);

    const closing = writer;
    writer = undefined;
    closing.close();
    await closing.exited;
    let closedErr: unknown;
    try {
      await closing.writeListStore({ method: 'deleteAllowed', args: ['ok.example'] });
    } catch (caught: unknown) {
      closedErr = caught;
    }
    expect(isPoolsinkError(closedErr, 'ERR_STORE_WRITE')).toBe(true);
  });

  test('a thread that dies is replaced: its unwritten events count as dropped, writing goes on', async () => {
    const threads: Worker[] = [];
    writer = await startWriterThread({
      path,
      log: capturingLog(),
      retentionDays: 30,
      maxEvents: 1_000_000,
      onThread: (w) => threads.push(w),
    });
    const now = Date.now();
    for (let i = 0; i < 10; i += 1) writer.record(blockEvent(now + i));
    writer.flush();
    expect(threads).toHaveLength(1);
    await threads[0]!.terminate();
    await until(() => lines.some((l) => l['msg'] === 'block-log writer thread exited; starting a new one'));
    expect(writer.stats.healthy).toBe(false);
    // Recorded while no thread runs: held here, then written by the new thread.
    for (let i = 0; i < 5; i += 1) writer.record(blockEvent(now + 100 + i));
    await until(() => threads.length === 2 && writer?.stats.healthy === true);
    writer.flush();
    expect(writer.stats).toMatchObject({ written: 15, dropped: 0, buffered: 0 });
    expect(count('SELECT count(*) AS n FROM events')).toBe(15);
  });
});
