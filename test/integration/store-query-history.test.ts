/**
 * The query history in a real SQLite file: batches upserted per (client, name, hour), the
 * retro-hunt search by reversed-name range (a listed name matches its subdomains, never a longer
 * label), and pruning by retainDays and maxRows inside the retention pass (retention.ts alsoPrune).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import type { HistoryBatch } from '../../src/store/history-protocol.js';
import { createQueryHistory, type QueryHistory } from '../../src/store/query-history.js';
import { createPruner } from '../../src/store/retention.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2025, 5, 1, 12, 0);

let dir: string;
let connection: StoreConnection;
let history: QueryHistory;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-query-history-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
  history = createQueryHistory(connection);
});

afterEach(() => {
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

function batch(hourMs: number, rows: readonly [string, string, number, number][]): HistoryBatch {
  return {
    hourMs,
    clientIps: rows.map((r) => r[0]),
    qnames: rows.map((r) => r[1]),
    firstMs: rows.map((r) => r[2]),
    counts: rows.map((r) => r[3]),
  };
}

const hourOf = (ms: number) => Math.floor(ms / HOUR) * HOUR;

test('one row per (client, name, hour): counts add up and the first time only goes down', () => {
  const h = hourOf(NOW);
  history.write(batch(h, [['10.0.0.1', 'pool.example', h + 500, 1]]));
  history.write(batch(h, [['10.0.0.1', 'pool.example', h + HOUR - 1, 4]])); // repeats at the hour's end
  history.write(batch(h + HOUR, [['10.0.0.1', 'pool.example', h + HOUR + 9, 1]]));
  const rows = connection.db
    .prepare('SELECT client_ip, rname, qname, hour_ms, first_ms, count FROM query_history ORDER BY hour_ms')
    .all();
  expect(rows).toEqual([
    { client_ip: '10.0.0.1', rname: 'example.pool.', qname: 'pool.example', hour_ms: h, first_ms: h + 500, count: 5 },
    {
      client_ip: '10.0.0.1',
      rname: 'example.pool.',
      qname: 'pool.example',
      hour_ms: h + HOUR,
      first_ms: h + HOUR + 9,
      count: 1,
    },
  ]);
});

test('a hunt finds the name and its subdomains, per client with first and last times, never notpool or a time before since', () => {
  const h = hourOf(NOW) - 3 * HOUR;
  history.write(
    batch(h, [
      ['10.0.0.1', 'pool.example', h + 10, 2],
      ['10.0.0.2', 'eu.pool.example', h + 20, 1],
      ['10.0.0.3', 'notpool.example', h + 30, 1],
      ['10.0.0.4', 'pool.example.evil', h + 40, 1],
    ]),
  );
  history.write(batch(h + 2 * HOUR, [['10.0.0.1', 'x.pool.example', h + 2 * HOUR + 5, 3]]));

  const found = history.search(['pool.example'], 0);
  expect(found).toMatchObject({ rowsRead: 3, truncated: false });
  expect(found.clients).toEqual([
    {
      clientIp: '10.0.0.1',
      names: [
        { qname: 'x.pool.example', firstMs: h + 2 * HOUR + 5, lastMs: h + 2 * HOUR + 5, count: 3 },
        { qname: 'pool.example', firstMs: h + 10, lastMs: h + 10, count: 2 },
      ],
      firstMs: h + 10,
      lastMs: h + 2 * HOUR + 5,
      count: 5,
    },
    {
      clientIp: '10.0.0.2',
      names: [{ qname: 'eu.pool.example', firstMs: h + 20, lastMs: h + 20, count: 1 }],
      firstMs: h + 20,
      lastMs: h + 20,
      count: 1,
    },
  ]);
  // since: only the later hour.
  expect(history.search(['pool.example'], h + HOUR).clients.map((c) => c.count)).toEqual([3]);
  // The row cap: the search says it stopped.
  expect(history.search(['pool.example'], 0, 2)).toMatchObject({ rowsRead: 2, truncated: true });
  // Upper case and a trailing dot are the same name; the root is never a hunt.
  expect(history.search(['POOL.Example.'], 0).clients).toHaveLength(2);
  expect(history.search(['', '.'], 0).clients).toEqual([]);
});

test('the retention pass prunes history older than retainDays, then the oldest hours beyond maxRows', async () => {
  const h = hourOf(NOW);
  for (let day = 0; day < 10; day += 1) {
    const hour = h - day * DAY;
    history.write(
      batch(
        hour,
        Array.from({ length: 5 }, (_, i): [string, string, number, number] => [
          `10.0.0.${i}`,
          `d${day}.example`,
          hour,
          1,
        ]),
      ),
    );
  }
  expect(history.count()).toBe(50);
  const run = (retainDays: number, maxRows: number) =>
    createPruner({
      connection,
      log,
      retentionDays: 90,
      maxEvents: 1000,
      batchSize: 3,
      clock: () => NOW,
      alsoPrune: (nowMs) => history.pruneStep(nowMs, { retainDays, maxRows, batchSize: 3 }),
    }).runOnce();

  // 7 days kept: days 0..7 (the cutoff hour itself stays), days 8 and 9 go.
  expect(await run(7, 1000)).toMatchObject({ otherRows: 10 });
  expect(history.count()).toBe(40);
  const oldest = connection.db.prepare<[], { h: number }>('SELECT min(hour_ms) AS h FROM query_history').get();
  expect(oldest?.h).toBe(h - 7 * DAY);
  // maxRows 12: the oldest hours go first, in batches, down to 12.
  expect(await run(7, 12)).toMatchObject({ otherRows: 28 });
  expect(history.count()).toBe(12);
  const kept = connection.db
    .prepare<[], { q: string }>('SELECT DISTINCT qname AS q FROM query_history ORDER BY q')
    .all();
  expect(kept.map((k) => k.q)).toEqual(['d0.example', 'd1.example', 'd2.example']);
  // Nothing left to prune: no otherRows in the result.
  expect(await run(7, 12)).not.toHaveProperty('otherRows');
});
