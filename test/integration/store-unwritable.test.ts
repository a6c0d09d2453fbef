/**
 * The block log when the disk misbehaves under a running writer: full, read-only, the file deleted
 * or its directory removed. Real conditions, not mocks: a tiny tmpfs that fills up, the immutable
 * attribute on the database and WAL files (chattr +i blocks writes even for root and even through
 * open files), unlinking
 * the live file. The first two need root; without it they are skipped with the reason, and the
 * SQLITE_FULL path is still covered by PRAGMA max_page_count, which needs no privileges.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { BlockEvent } from '../../src/dns/block-event.js';
import { errorMessage } from '../../src/errors.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import type { EventWriter } from '../../src/store/types.js';

const log = pino({ level: 'silent' });
const isRoot = process.getuid?.() === 0;

function blockEvent(i: number, padding = 0): BlockEvent {
  return {
    timeMs: Date.now(),
    clientIp: `10.0.${(i >> 8) & 255}.${i & 255}`,
    clientPort: 1024 + (i % 60000),
    protocol: 'udp',
    qname: `n${i}.pool.example`,
    qtype: 1,
    list: 'miners',
    rule: padding > 0 ? `pool.example#${'x'.repeat(padding)}` : 'pool.example',
    action: 'blocked',
    answer: 'nxdomain',
  };
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: 'pipe' });
}

/** Whether `probe` works here, or why not. */
function capability(probe: () => void): { ok: boolean; reason: string } {
  if (!isRoot) return { ok: false, reason: 'needs root' };
  try {
    probe();
    return { ok: true, reason: '' };
  } catch (err: unknown) {
    return { ok: false, reason: errorMessage(err).split('\n')[0] ?? 'unavailable' };
  }
}

const tmpfs = capability(() => {
  const probe = mkdtempSync(join(tmpdir(), 'poolsink-mount-probe-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]);
    run('umount', [probe]);
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
});

const immutable = capability(() => {
  const probe = mkdtempSync(join(tmpdir(), 'poolsink-chattr-probe-'));
  try {
    const file = join(probe, 'f');
    closeSync(openSync(file, 'w'));
    run('chattr', ['+i', file]);
    run('chattr', ['-i', file]);
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
});

function skipNote(c: { ok: boolean; reason: string }): string {
  return c.ok ? '' : ` (skipped: ${c.reason})`;
}

let dir: string;
let connection: StoreConnection | undefined;
let writer: EventWriter | undefined;
const cleanups: (() => void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-store-unwritable-'));
});

afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // best effort: the next cleanup (and rmSync) must still run
    }
  }
  writer?.close();
  writer = undefined;
  connection?.close();
  connection = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function open(path: string): { connection: StoreConnection; writer: EventWriter } {
  connection = openStoreConnection(path, { log });
  writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, batchSize: 500, maxBuffered: 3000 });
  return { connection, writer };
}

function rows(c: StoreConnection): number {
  return c.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get()?.n ?? 0;
}

/** Records events [from, to); record() must never throw, whatever the disk does. */
function recordRange(w: EventWriter, from: number, to: number, padding = 0): void {
  for (let i = from; i < to; i += 1) w.record(blockEvent(i, padding));
}

/** Fills the filesystem holding `dir` with one file until it refuses more. */
function fill(dirPath: string): string {
  const filler = join(dirPath, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err: unknown) {
    if (!(err instanceof Error && 'code' in err && err.code === 'ENOSPC')) throw err;
  } finally {
    closeSync(fd);
  }
  return filler;
}

describe('a database that becomes unwritable while poolsink runs', () => {
  test.skipIf(!tmpfs.ok)(
    `disk full (a tiny tmpfs): events stay buffered, excess dropped and counted, then all written${skipNote(tmpfs)}`,
    () => {
      const mountPoint = join(dir, 'mnt');
      mkdirSync(mountPoint);
      run('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint]);
      cleanups.push(() => run('umount', ['-l', mountPoint]));
      cleanups.push(() => {
        writer?.close();
        writer = undefined;
        connection?.close();
        connection = undefined;
      });
      const { connection: c, writer: w } = open(join(mountPoint, 'poolsink.db'));
      recordRange(w, 0, 100);
      w.flush();
      expect(rows(c)).toBe(100);

      const filler = fill(mountPoint);
      recordRange(w, 100, 2100, 600); // ~1.2 MB of events: more than any free page or WAL slack
      w.flush();
      expect(w.stats.healthy).toBe(false);
      expect(w.stats.lastError).toContain('SQLITE_FULL');
      expect(w.stats.buffered).toBe(2000);
      recordRange(w, 2100, 4100, 600); // the buffer holds 3000: 1000 of these are dropped
      expect(w.stats).toMatchObject({ buffered: 3000, dropped: 1000 });

      unlinkSync(filler);
      w.flush();
      expect(w.stats).toMatchObject({ healthy: true, buffered: 0, dropped: 1000, written: 3100 });
      expect(rows(c)).toBe(3100);
      expect(c.db.prepare("SELECT count FROM outcome_minutes WHERE outcome = 'events_dropped'").get()).toEqual({
        count: 1000,
      });
    },
  );

  test.skipIf(!immutable.ok)(
    `read-only files (chattr +i): writes fail with an I/O error, then resume${skipNote(immutable)}`,
    () => {
      const path = join(dir, 'poolsink.db');
      const { connection: c, writer: w } = open(path);
      recordRange(w, 0, 10);
      w.flush();
      // Not the -shm file: SQLite maps it into memory, and a write to an immutable mapping is SIGBUS.
      const files = [path, `${path}-wal`].filter((file) => existsSync(file));
      run('chattr', ['+i', ...files]);
      cleanups.push(() => run('chattr', ['-i', ...files]));

      recordRange(w, 10, 510);
      w.flush();
      expect(w.stats.healthy).toBe(false);
      expect(w.stats.lastError).toMatch(/SQLITE_(IOERR|READONLY)/);
      expect(w.stats.buffered).toBe(500);

      run('chattr', ['-i', ...files]);
      w.flush();
      expect(w.stats).toMatchObject({ healthy: true, buffered: 0, written: 510 });
      expect(rows(c)).toBe(510);
    },
  );

  test('SQLITE_FULL from the page limit (no privileges needed): kept, then written', () => {
    const { connection: c, writer: w } = open(join(dir, 'poolsink.db'));
    recordRange(w, 0, 10);
    w.flush();
    const pages = Number(c.db.pragma('page_count', { simple: true }));
    c.db.pragma(`max_page_count = ${pages + 2}`);
    recordRange(w, 10, 1010, 600);
    w.flush();
    expect(w.stats).toMatchObject({ healthy: false, buffered: 1000 });
    expect(w.stats.lastError).toContain('SQLITE_FULL');
    c.db.pragma('max_page_count = 1073741823');
    w.flush();
    expect(w.stats).toMatchObject({ healthy: true, buffered: 0, written: 1010 });
    expect(rows(c)).toBe(1010);
  });

  test('the file deleted while open: the writer reopens the path instead of writing into the deleted file', () => {
    const path = join(dir, 'poolsink.db');
    const { connection: c, writer: w } = open(path);
    recordRange(w, 0, 10);
    w.flush();
    for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
    recordRange(w, 10, 30);
    w.flush();
    expect(existsSync(path)).toBe(true);
    expect(c.generation).toBe(1);
    expect(rows(c)).toBe(20);
    expect(w.stats).toMatchObject({ healthy: true, buffered: 0, written: 30 });
  });

  test('the whole directory removed: it is created again', () => {
    const nested = join(dir, 'data');
    const path = join(nested, 'poolsink.db');
    const { connection: c, writer: w } = open(path);
    recordRange(w, 0, 5);
    w.flush();
    rmSync(nested, { recursive: true, force: true });
    recordRange(w, 5, 8);
    w.flush();
    expect(existsSync(path)).toBe(true);
    expect(rows(c)).toBe(3);
  });
});
