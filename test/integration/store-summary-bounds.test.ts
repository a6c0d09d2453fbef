/**
 * Bounded summaries (SECURITY.md, log flooding): a host resolving random names under a blocked
 * domain (DGA-like) must not grow host_domains, domains or domain_hours by a row per name, and the
 * summary rows must go after retentionDays like the events.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { BlockEvent } from '../../src/dns/block-event.js';
import { OTHER_NAMES } from '../../src/store/rollup-writes.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';
import { createPruner } from '../../src/store/retention.js';
import { blockEvent } from '../helpers/block-events.js';

const log = pino({ level: 'silent' });
const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 1, 12, 0);
const HOST = '10.0.0.66';

let dir: string;
let path: string;
let connection: StoreConnection;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-summary-bounds-'));
  path = join(dir, 'poolsink.db');
  connection = openStoreConnection(path, { log });
});

afterEach(() => {
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

function count(sql: string): number {
  return connection.db.prepare<[], { n: number }>(sql).get()?.n ?? 0;
}

function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // no -wal file
  }
}

test('a million unique blocked names from one host keep the database file under 4 MB and the summary right', async () => {
  const TOTAL = 1_000_000;
  const CHUNK = 10_000;
  const MAX_NAMES = 1000;
  let now = NOW;
  const writer = createEventWriter({
    connection,
    log,
    flushIntervalMs: 3_600_000,
    maxBuffered: CHUNK,
    maxNamesPerHost: MAX_NAMES,
    clock: () => now,
  });
  // maxEvents bounds the events table; the pruner runs between chunks as its timer would.
  const pruner = createPruner({ connection, log, retentionDays: 30, maxEvents: 1000, clock: () => now });
  const known: BlockEvent = blockEvent(NOW, { clientIp: HOST });
  for (let start = 0; start < TOTAL; start += CHUNK) {
    now = NOW + start; // one ms per name: the flood spans about 17 minutes
    for (let i = start; i < start + CHUNK; i += 1) {
      const qname = `${i.toString(36)}.pool.example`;
      writer.record({ ...known, timeMs: NOW + i, qname, rule: 'pool.example' });
    }
    writer.flush();
    await pruner.runOnce();
  }
  writer.close();
  await pruner.runOnce();

  const summary = createEventQueries(connection).host(HOST, 0)?.summary;
  expect(summary?.blockedCount).toBe(TOTAL);
  expect(summary?.distinctDomains).toBe(MAX_NAMES);
  expect(summary?.topDomains[0]).toEqual({ domain: OTHER_NAMES, count: TOTAL - MAX_NAMES });
  expect(count('SELECT count(*) AS n FROM host_domains')).toBe(MAX_NAMES + 1);
  expect(count('SELECT sum(count) AS n FROM host_domains')).toBe(TOTAL);
  expect(count('SELECT count(*) AS n FROM domains')).toBe(MAX_NAMES + 1);
  expect(count('SELECT sum(blocked_count) AS n FROM domains')).toBe(TOTAL);
  expect(count('SELECT sum(count) AS n FROM domain_hours')).toBe(TOTAL);
  expect(count('SELECT count(*) AS n FROM domain_hours')).toBeLessThanOrEqual(MAX_NAMES + 2);
  expect(count('SELECT count(*) AS n FROM events')).toBeLessThanOrEqual(1000);

  // The file holds the summaries, at most 1000 events and the free pages of the 10,000-event peak
  // between prunes (measured: 2.5 MB; without the caps host_domains alone held a row per name).
  // The -wal file is bounded apart from this, by wal_autocheckpoint and journal_size_limit (64 MB).
  expect(fileBytes(path)).toBeLessThan(4 * 1024 * 1024);
  expect(fileBytes(`${path}-wal`)).toBeLessThanOrEqual(64 * 1024 * 1024);
}, 300_000);

test('host names and per-name totals last seen before retentionDays are pruned; distinctDomains follows', async () => {
  let now = NOW - 40 * DAY;
  const writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, clock: () => now });
  writer.record(blockEvent(now, { clientIp: HOST, qname: 'old.pool.example' }));
  writer.record(blockEvent(now, { clientIp: HOST, qname: 'both.pool.example' }));
  writer.flush();
  now = NOW;
  writer.record(blockEvent(now, { clientIp: HOST, qname: 'both.pool.example' }));
  writer.record(blockEvent(now, { clientIp: HOST, qname: 'new.pool.example' }));
  writer.close();
  expect(createEventQueries(connection).host(HOST, 0)?.summary.distinctDomains).toBe(3);

  await createPruner({ connection, log, retentionDays: 30, maxEvents: 1000, clock: () => NOW }).runOnce();

  const summary = createEventQueries(connection).host(HOST, 0)?.summary;
  expect(summary?.distinctDomains).toBe(2);
  expect(summary?.blockedCount).toBe(4); // every query ever counted, like before
  expect(summary?.topDomains.map((d) => d.domain).sort()).toEqual(['both.pool.example', 'new.pool.example']);
  const names = connection.db.prepare<[], { qname: string }>('SELECT qname FROM domains ORDER BY qname').all();
  expect(names.map((row) => row.qname)).toEqual(['both.pool.example', 'new.pool.example']);
  expect(count(`SELECT count(*) AS n FROM domain_hours WHERE qname = 'old.pool.example'`)).toBe(0);
});

test('domains beyond maxDomains are pruned least recently seen first', async () => {
  const writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, clock: () => NOW });
  for (let i = 0; i < 50; i += 1)
    writer.record(blockEvent(NOW - 1000 + i, { clientIp: `10.0.1.${i}`, qname: `n${i}.pool.example` }));
  writer.close();
  await createPruner({
    connection,
    log,
    retentionDays: 30,
    maxEvents: 1000,
    maxDomains: 20,
    clock: () => NOW,
  }).runOnce();
  const names = connection.db.prepare<[], { qname: string }>('SELECT qname FROM domains ORDER BY qname').all();
  expect(names).toHaveLength(20);
  expect(names.map((row) => row.qname)).toContain('n49.pool.example');
  expect(names.map((row) => row.qname)).not.toContain('n0.pool.example');
});

test('a full host flooding names another host keeps: its counts move to OTHER_NAMES, in time order per name', () => {
  const HOUR = 3_600_000;
  const H = Math.floor(NOW / HOUR) * HOUR;
  const writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, maxNamesPerHost: 2 });
  const a = (timeMs: number, qname: string): BlockEvent => blockEvent(timeMs, { clientIp: '10.0.0.1', qname });
  writer.record(a(H, 'a0.pool.example'));
  writer.record(a(H, 'a1.pool.example'));
  writer.flush();
  // One batch: host A (full) floods 100 names in two hours; host B (room left) keeps x0.
  for (let i = 0; i < 100; i += 1) writer.record(a(H + 10 + i, `x${i}.pool.example`));
  for (let i = 0; i < 100; i += 1) writer.record(a(H + HOUR + 10 + i, `x${i}.pool.example`));
  writer.record(blockEvent(H + HOUR + 500, { clientIp: '10.0.0.2', qname: 'x0.pool.example' }));
  writer.close();

  const rows = (sql: string) => connection.db.prepare(sql).all();
  expect(rows('SELECT client_ip, qname, count FROM host_domains ORDER BY client_ip, qname')).toEqual([
    { client_ip: '10.0.0.1', qname: OTHER_NAMES, count: 200 },
    { client_ip: '10.0.0.1', qname: 'a0.pool.example', count: 1 },
    { client_ip: '10.0.0.1', qname: 'a1.pool.example', count: 1 },
    { client_ip: '10.0.0.2', qname: 'x0.pool.example', count: 1 },
  ]);
  expect(rows('SELECT qname, blocked_count FROM domains ORDER BY qname')).toEqual([
    { qname: OTHER_NAMES, blocked_count: 200 },
    { qname: 'a0.pool.example', blocked_count: 1 },
    { qname: 'a1.pool.example', blocked_count: 1 },
    { qname: 'x0.pool.example', blocked_count: 1 },
  ]);
  // x0's two moved queries come from its earliest hours first: H (A's 1) then H+1 (1 of A's and B's 2).
  expect(
    rows('SELECT qname, hour_ms - ? AS hour, count FROM domain_hours ORDER BY qname, hour_ms'.replace('?', String(H))),
  ).toEqual([
    { qname: OTHER_NAMES, hour: 0, count: 100 },
    { qname: OTHER_NAMES, hour: HOUR, count: 100 },
    { qname: 'a0.pool.example', hour: 0, count: 1 },
    { qname: 'a1.pool.example', hour: 0, count: 1 },
    { qname: 'x0.pool.example', hour: HOUR, count: 1 },
  ]);
});
