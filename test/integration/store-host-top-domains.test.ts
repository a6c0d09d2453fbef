/**
 * A host's top domains (HostSummary.topDomains): most counted first, ties by name descending, at
 * most TOP_DOMAINS_PER_HOST, OTHER_NAMES ranked like any name: checked on a real SQLite file with
 * ties across the limit, so a change of the read (index or sort) cannot change the order unseen.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { TOP_DOMAINS_PER_HOST, createEventQueries } from '../../src/store/queries.js';
import { OTHER_NAMES } from '../../src/store/rollup-writes.js';
import { blockEvent } from '../helpers/block-events.js';

const log = pino({ level: 'silent' });
const NOW = Date.UTC(2025, 5, 1, 12, 0);
const HOST = '10.0.0.7';

let dir: string;
let connection: StoreConnection;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-top-domains-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
});

afterEach(() => {
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Records `count` events of each name for HOST (other hosts get noise), then flushes. */
function record(counts: ReadonlyArray<readonly [string, number]>, maxNamesPerHost?: number): void {
  const writer = createEventWriter({
    connection,
    log,
    flushIntervalMs: 3_600_000,
    clock: () => NOW,
    ...(maxNamesPerHost !== undefined ? { maxNamesPerHost } : {}),
  });
  let t = NOW - 60_000;
  for (const [qname, count] of counts) {
    for (let i = 0; i < count; i += 1) {
      t += 1;
      writer.record(blockEvent(t, { clientIp: HOST, qname, rule: 'pool.example' }));
      writer.record(blockEvent(t, { clientIp: '10.0.0.8', qname: `z${i}.noise.example`, rule: 'noise.example' }));
    }
  }
  writer.flush();
  writer.close();
}

function topDomains(): unknown {
  return createEventQueries(connection).host(HOST, 0)?.summary.topDomains;
}

test('most counted first, ties by name descending, cut at the limit inside a tie', () => {
  expect(TOP_DOMAINS_PER_HOST).toBe(5);
  record([
    ['a.pool.example', 3],
    ['b.pool.example', 4],
    ['c.pool.example', 3],
    ['d.pool.example', 1],
    ['e.pool.example', 4],
    ['f.pool.example', 3],
    ['g.pool.example', 2],
    ['h.pool.example', 3],
    ['i.pool.example', 1],
    ['j.pool.example', 6],
  ]);
  expect(topDomains()).toEqual([
    { domain: 'j.pool.example', count: 6 },
    { domain: 'e.pool.example', count: 4 },
    { domain: 'b.pool.example', count: 4 },
    { domain: 'h.pool.example', count: 3 },
    { domain: 'f.pool.example', count: 3 },
  ]);
});

test('a host past its cap: OTHER_NAMES ranks by its count among the kept names', () => {
  const MAX_NAMES = 10;
  // 30 names with counts 1..3 (many ties); the 20 past the cap are summed under OTHER_NAMES.
  const counts = Array.from(
    { length: 30 },
    (_, i) => [`n${String(i).padStart(2, '0')}.pool.example`, (i % 3) + 1] as const,
  );
  record(counts, MAX_NAMES);
  const rows = connection.db
    .prepare<[string], { domain: string; count: number }>(
      'SELECT qname AS domain, count FROM host_domains WHERE client_ip = ?',
    )
    .all(HOST);
  expect(rows).toHaveLength(MAX_NAMES + 1);
  const expected = rows
    .sort((a, b) => b.count - a.count || (a.domain < b.domain ? 1 : -1))
    .slice(0, TOP_DOMAINS_PER_HOST);
  expect(expected[0]?.domain).toBe(OTHER_NAMES);
  expect(topDomains()).toEqual(expected);
});
