/**
 * The block-log reader thread against a real SQLite file: it gives exactly what the same queries
 * give in-process, keeps the store's error codes, pages an export, fails a query that waits too
 * long without holding up this thread's event loop, and replaces a thread that dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';
import { startReaderThread, type ReaderThread } from '../../src/store/reader-thread.js';
import type { StoredEvent } from '../../src/store/types.js';
import { blockEvent } from '../helpers/block-events.js';

const log = pino({ level: 'silent' });
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
let dir: string;
let path: string;
let connection: StoreConnection;
let reader: ReaderThread | undefined;

/** 2,500 events from 5 hosts over 50 names, one every second before NOW. */
function seed(): void {
  const writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000 });
  for (let i = 0; i < 2500; i += 1) {
    writer.record(
      blockEvent(NOW - 2500_000 + i * 1000, { clientIp: `10.0.0.${(i % 5) + 1}`, qname: `h${i % 50}.pool.example` }),
    );
  }
  writer.addOutcomes({ blocked: 2500, forwarded: 7 }, NOW - 1000);
  writer.flush();
  writer.close();
}

/**
 * Replaces the database file with a new one that another process holds an EXCLUSIVE lock on (a
 * rollback-journal transaction): the reader's next query follows the new file and waits in
 * SQLite's busy handler (5 s) to read it. Resolves once the lock is held; release() lets go.
 */
async function lockedReplacement(): Promise<ChildProcess> {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  const script = `
    import Database from 'better-sqlite3';
    const db = new Database(${JSON.stringify(path)});
    db.exec('CREATE TABLE held (a); BEGIN EXCLUSIVE; INSERT INTO held VALUES (1)');
    process.stdout.write('locked\\n');
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: process.cwd(),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${String(code)}`)));
  });
  return child;
}

async function release(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin?.end();
  await exited;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err: unknown) {
    return err;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-reader-'));
  path = join(dir, 'poolsink.db');
  connection = openStoreConnection(path, { log });
});

afterEach(async () => {
  await reader?.close();
  reader = undefined;
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reader thread', () => {
  test('answers every query exactly as the same queries in-process', async () => {
    seed();
    reader = await startReaderThread({ path, log });
    const local = createEventQueries(connection);
    expect(await reader.hosts(undefined, 100)).toEqual(local.hosts(undefined, 100));
    expect(await reader.hosts(NOW - 3_000, 2)).toEqual(local.hosts(NOW - 3_000, 2));
    expect(await reader.host('10.0.0.3', 20)).toEqual(local.host('10.0.0.3', 20));
    expect(await reader.host('10.9.9.9', 20)).toBeUndefined();
    expect(await reader.stats(NOW - 3_600_000, 10)).toEqual(local.stats(NOW - 3_600_000, 10));
    const page = await reader.events({ domain: 'pool.example', client: '10.0.0.2' }, 7);
    expect(page).toEqual(local.events({ domain: 'pool.example', client: '10.0.0.2' }, 7));
    expect(await reader.events({ client: '10.0.0.2' }, 7, page.nextCursor)).toEqual(
      local.events({ client: '10.0.0.2' }, 7, page.nextCursor),
    );
    expect((await reader.hosts(undefined, 100)).map((h) => h.blockedCount)).toEqual([500, 500, 500, 500, 500]);
  });

  test('an export pages through every matching event, newest first', async () => {
    seed();
    reader = await startReaderThread({ path, log });
    const exported: StoredEvent[] = [];
    for await (const event of reader.iterateEvents({})) exported.push(event);
    expect(exported).toHaveLength(2500);
    expect(exported.map((e) => e.id)).toEqual([...createEventQueries(connection).iterateEvents({})].map((e) => e.id));
    expect(exported[0]!.timeMs).toBe(NOW - 1000);
  });

  test("the store's errors keep their code: a bad limit is ERR_INVALID", async () => {
    reader = await startReaderThread({ path, log });
    const err = await rejection(reader.events({}, 0));
    expect(isPoolsinkError(err, 'ERR_INVALID')).toBe(true);
    expect((err as Error).message).toContain('limit');
    // The thread is still there for the next query.
    expect(await reader.hosts(undefined, 10)).toEqual([]);
  });

  test('a database that cannot be opened rejects the start with ERR_STORE_OPEN', async () => {
    writeFileSync(join(dir, 'plain-file'), 'x');
    const err = await rejection(startReaderThread({ path: join(dir, 'plain-file', 'poolsink.db'), log }));
    expect(isPoolsinkError(err, 'ERR_STORE_OPEN')).toBe(true);
  });

  test('a query not answered within queryTimeoutMs fails with ERR_STORE_READ while this thread runs on; the reader then carries on', async () => {
    seed();
    const threads: Worker[] = [];
    reader = await startReaderThread({ path, log, queryTimeoutMs: 1000, onThread: (w) => threads.push(w) });
    const holder = await lockedReplacement();
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    let err: unknown;
    try {
      const started = Date.now();
      err = await rejection(reader.stats(NOW - 3_600_000, 10));
      expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    } finally {
      clearInterval(ticker);
      await release(holder);
    }
    expect(isPoolsinkError(err, 'ERR_STORE_READ')).toBe(true);
    expect((err as Error).message).toMatch(/longer than 1000 ms/);
    // This thread's event loop kept turning the whole time (a blocked loop would tick once or twice).
    expect(ticks).toBeGreaterThan(20);
    // The same thread answers next, from the file the path now names (empty).
    expect(await reader.hosts(undefined, 10)).toEqual([]);
    expect(threads).toHaveLength(1);
  });

  test('a thread that dies is replaced at the next query', async () => {
    seed();
    const threads: Worker[] = [];
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done): void {
        lines.push(chunk.toString());
        done();
      },
    });
    reader = await startReaderThread({ path, log: pino({ level: 'info' }, sink), onThread: (w) => threads.push(w) });
    expect((await reader.hosts(undefined, 10)).length).toBe(5);
    // Stopped while idle: Worker.terminate() during a SQLite call aborts the process.
    const exited = new Promise((r) => threads[0]!.once('exit', r));
    await threads[0]!.terminate();
    await exited;
    expect((await reader.hosts(undefined, 10)).length).toBe(5);
    expect(threads).toHaveLength(2);
    expect(lines.join('')).toContain('block-log reader thread exited; the next query starts a new one');
  });

  test('after close, queries fail with ERR_STORE_READ and the thread is gone', async () => {
    const threads: Worker[] = [];
    reader = await startReaderThread({ path, log, onThread: (w) => threads.push(w) });
    const exited = new Promise((r) => threads[0]!.once('exit', r));
    await reader.close();
    await exited;
    expect(isPoolsinkError(await rejection(reader.hosts(undefined, 10)), 'ERR_STORE_READ')).toBe(true);
  });
});
