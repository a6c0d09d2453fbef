/**
 * Events of a set of clients (a resolved CIDR filter) over a real SQLite block log: both ways the
 * store answers (a budgeted scan by time for a large, dense set; the per-client merge for a small
 * or sparse one) give exactly the brute-force answer, page after page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';
import type { EventCursor, EventFilter, EventQueries, StoredEvent } from '../../src/store/types.js';
import { blockEvent } from '../helpers/block-events.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 15, 10, 0);

let dir: string;
let connection: StoreConnection;
let queries: EventQueries;

/** 100 busy hosts in 172.16.1.0/24, 100 hosts with one old event each in 172.16.2.0/24, one loud host outside. */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-client-search-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
  const writer = createEventWriter({ connection, log });
  for (let h = 0; h < 100; h++) writer.record(blockEvent(T0 + h, { clientIp: `172.16.2.${h}` }));
  for (let i = 0; i < 3000; i++) {
    const busy = i % 5 !== 0;
    // Times repeat in pairs so ties are broken by id.
    const timeMs = T0 + 60_000 + Math.floor(i / 2) * 10;
    writer.record(
      blockEvent(timeMs, { clientIp: busy ? `172.16.1.${i % 100}` : '172.17.0.1', qname: `n${i % 7}.pool.example` }),
    );
  }
  writer.flush();
  writer.close();
  queries = createEventQueries(connection);
});

afterAll(() => {
  connection?.close();
  rmSync(dir, { recursive: true, force: true });
});

function clientsOf(cidr: string): readonly string[] {
  const set = queries.clientsIn(cidr);
  if (set.kind !== 'clients') throw new Error(`${cidr}: too many`);
  return set.clients;
}

function allPages(filter: EventFilter, limit: number): StoredEvent[] {
  const events: StoredEvent[] = [];
  let cursor: EventCursor | undefined;
  for (;;) {
    const page = queries.events(filter, limit, cursor);
    events.push(...page.events);
    if (page.nextCursor === undefined) return events;
    cursor = page.nextCursor;
  }
}

function bruteForce(filter: Omit<EventFilter, 'clients'>, clients: readonly string[]): StoredEvent[] {
  return allPages(filter, 10_000).filter((e) => clients.includes(e.clientIp));
}

describe('events of a set of clients', () => {
  test.each([
    ['dense set (scan by time)', '172.16.1.0/24', 2400],
    ['sparse set of old events (the merge)', '172.16.2.0/24', 100],
    ['both (a /16)', '172.16.0.0/16', 2500],
    ['a small set', '172.16.1.0/28', 12 * 30], // hosts 0, 5, 10, 15 have none
  ])('%s: exactly the brute-force answer, page after page', (_name, cidr, total) => {
    const clients = clientsOf(cidr);
    const expected = bruteForce({}, clients);
    expect(expected).toHaveLength(total);
    for (const limit of [1, 7, 100, 1000]) expect(allPages({ clients }, limit), `limit ${limit}`).toEqual(expected);
  });

  test('with other filters', () => {
    const clients = clientsOf('172.16.0.0/16');
    const filter = { domain: 'n3.pool.example', sinceMs: T0 + 50, untilMs: T0 + 60_000 + 9000 };
    const expected = bruteForce(filter, clients);
    expect(expected.length).toBeGreaterThan(10);
    for (const limit of [3, 50]) expect(allPages({ ...filter, clients }, limit)).toEqual(expected);
  });

  test('an empty set matches nothing', () => {
    expect(queries.events({ clients: [] }, 10)).toEqual({ events: [] });
  });
});
