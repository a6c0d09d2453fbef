import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { until } from '../helpers/wait.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BlockEvent } from '../../src/dns/block-event.js';
import { isPoolsinkError } from '../../src/errors.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { MAX_PAGE_LIMIT, createEventQueries } from '../../src/store/queries.js';
import type { EventCursor, EventFilter, EventQueries, StoredEvent } from '../../src/store/types.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** An hour boundary; the dataset sits around it. */
const H = Date.UTC(2025, 2, 10, 8, 0);

const CLIENTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '192.168.1.7', '2001:db8::1'];
const NAMES = [
  'pool.com',
  'a.pool.com',
  'b.a.pool.com',
  'notpool.com',
  'pool.com.evil',
  'other.net',
  'x.other.net',
  'Pool.com',
];

function blockEvent(overrides: Partial<BlockEvent> = {}): BlockEvent {
  return {
    timeMs: H,
    clientIp: '10.0.0.1',
    clientPort: 40000,
    protocol: 'udp',
    qname: 'pool.com',
    qtype: 1,
    list: 'miners',
    rule: 'pool.com',
    action: 'blocked',
    answer: 'nxdomain',
    ...overrides,
  };
}

/** 400 events over two hours, with many equal timestamps so the id tiebreak matters. */
function dataset(): BlockEvent[] {
  const events: BlockEvent[] = [];
  for (let i = 0; i < 400; i += 1) {
    const qname = NAMES[(i * 7) % NAMES.length] ?? 'pool.com';
    const alerted = i % 5 === 0;
    events.push(
      blockEvent({
        timeMs: H + (i % 97) * MINUTE + (i % 3) * 1000,
        clientIp: CLIENTS[i % CLIENTS.length] ?? '10.0.0.1',
        clientPort: 1000 + i,
        protocol: i % 4 === 0 ? 'tcp' : 'udp',
        qname: qname.toLowerCase(),
        qtype: i % 2 === 0 ? 1 : 28,
        list: alerted ? 'trial' : i % 2 === 0 ? 'miners' : 'coins',
        rule: qname.toLowerCase(),
        action: alerted ? 'alerted' : 'blocked',
        answer: alerted ? 'forwarded' : 'nxdomain',
        ...(i % 11 === 0 ? { via: 'cdn.example' } : {}),
      }),
    );
  }
  return events;
}

function matchesDomain(qname: string, domain: string): boolean {
  const d = domain.toLowerCase().replace(/\.$/, '');
  return d === '' || qname === d || qname.endsWith(`.${d}`);
}

/** The expected answer, computed the slow way: ids are 1..n in insertion order. */
function expectedIds(events: readonly BlockEvent[], filter: EventFilter): number[] {
  return events
    .map((event, index) => ({ event, id: index + 1 }))
    .filter(({ event }) => filter.client === undefined || event.clientIp === filter.client)
    .filter(({ event }) => filter.domain === undefined || matchesDomain(event.qname, filter.domain))
    .filter(({ event }) => filter.list === undefined || event.list === filter.list)
    .filter(({ event }) => filter.action === undefined || event.action === filter.action)
    .filter(({ event }) => filter.sinceMs === undefined || event.timeMs >= filter.sinceMs)
    .filter(({ event }) => filter.untilMs === undefined || event.timeMs < filter.untilMs)
    .sort((a, b) => b.event.timeMs - a.event.timeMs || b.id - a.id)
    .map(({ id }) => id);
}

function allPages(queries: EventQueries, filter: EventFilter, limit: number): StoredEvent[] {
  const out: StoredEvent[] = [];
  let cursor: EventCursor | undefined;
  for (let guard = 0; guard < 10_000; guard += 1) {
    const page = queries.events(filter, limit, cursor);
    expect(page.events.length).toBeLessThanOrEqual(limit);
    out.push(...page.events);
    if (page.nextCursor === undefined) return out;
    expect(page.events).toHaveLength(limit);
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

function invalidParameter(fn: () => unknown): string {
  try {
    fn();
  } catch (err: unknown) {
    if (isPoolsinkError(err, 'ERR_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected ERR_INVALID');
}

let dir: string;
let connection: StoreConnection;
let queries: EventQueries;
const events = dataset();
// Many distinct names under one domain: more than the per-name merge takes, so the time scan runs.
const wide = Array.from({ length: 150 }, (_, i) =>
  blockEvent({ timeMs: H + i * 1000, qname: `n${i}.wide.test`, clientIp: '10.9.9.9' }),
);
// A day earlier, with empty hours between: list and action filters visit only hours list_hours counts.
const earlier = Array.from({ length: 6 }, (_, i) =>
  blockEvent({
    timeMs: H - 26 * HOUR + i * 7 * MINUTE,
    list: i % 2 === 0 ? 'coins' : 'trial',
    action: i % 2 === 0 ? 'blocked' : 'alerted',
    qname: `e${i}.earlier.test`,
  }),
);
const all = [...events, ...wide, ...earlier];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-store-queries-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
  const writer = createEventWriter({ connection, log, flushIntervalMs: 3_600_000, batchSize: 64 });
  for (const event of all) writer.record(event);
  writer.close();
  queries = createEventQueries(connection);
});

afterAll(() => {
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('events', () => {
  const filters: [string, EventFilter][] = [
    ['no filter', {}],
    ['client', { client: '10.0.0.2' }],
    ['IPv6 client', { client: '2001:db8::1' }],
    ['domain with subdomains', { domain: 'pool.com' }],
    ['subdomain only', { domain: 'a.pool.com' }],
    ['domain in upper case with a trailing dot', { domain: 'POOL.com.' }],
    ['another domain', { domain: 'other.net' }],
    ['a top-level domain', { domain: 'com' }],
    ['a domain with many names (time scan)', { domain: 'wide.test' }],
    ['list', { list: 'coins' }],
    ['action', { action: 'alerted' }],
    ['since', { sinceMs: H + 30 * MINUTE }],
    ['until', { untilMs: H + 30 * MINUTE }],
    ['since and until', { sinceMs: H + 10 * MINUTE, untilMs: H + 40 * MINUTE + 1000 }],
    ['client and domain', { client: '10.0.0.3', domain: 'pool.com' }],
    ['domain, list and action', { domain: 'pool.com', list: 'trial', action: 'alerted' }],
    [
      'everything',
      { client: '10.0.0.1', domain: 'pool.com', list: 'trial', action: 'alerted', sinceMs: H, untilMs: H + HOUR },
    ],
    ['list and action that never meet', { list: 'miners', action: 'alerted' }],
    ['list over hours with empty hours between', { list: 'coins', sinceMs: H - 30 * HOUR }],
    ['action until a time inside an hour', { action: 'alerted', untilMs: H + 50 * MINUTE }],
    ['list within the earlier day only', { list: 'trial', untilMs: H - 20 * HOUR }],
  ];

  test.each(filters)('%s: newest first, every page complete, no duplicates or gaps', (_label, filter) => {
    const expected = expectedIds(all, filter);
    for (const limit of [1, 7, 1000]) {
      expect(allPages(queries, filter, limit).map((e) => e.id)).toEqual(expected);
    }
    expect([...queries.iterateEvents(filter)].map((e) => e.id)).toEqual(expected);
  });

  test('a list filter finds recent events whose hourly rollups are not written yet', async () => {
    const recentDir = mkdtempSync(join(tmpdir(), 'poolsink-store-recent-'));
    const recent = openStoreConnection(join(recentDir, 'poolsink.db'), { log });
    try {
      // Rollups wait an hour in memory (eagerRollupKeys 0): only the events reach the file.
      const writer = createEventWriter({
        connection: recent,
        log,
        flushIntervalMs: 5,
        batchSize: 1,
        rollupIntervalMs: 3_600_000,
        eagerRollupKeys: 0,
      });
      const now = Date.now();
      writer.record(blockEvent({ timeMs: now - 2 * MINUTE, list: 'fresh', qname: 'new.pool.com' }));
      writer.record(blockEvent({ timeMs: now - MINUTE, list: 'other', qname: 'old.pool.com' }));
      const count = recent.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events');
      await until(() => (count.get()?.n ?? 0) >= 2);
      expect(recent.db.prepare('SELECT count(*) AS n FROM list_hours').get()).toEqual({ n: 0 });
      const page = createEventQueries(recent).events({ list: 'fresh' }, 10);
      expect(page.events.map((e) => e.qname)).toEqual(['new.pool.com']);
      writer.close();
    } finally {
      recent.close();
      rmSync(recentDir, { recursive: true, force: true });
    }
  });

  test('a subdomain filter matches the name and its subdomains only', () => {
    const names = new Set(allPages(queries, { domain: 'pool.com' }, 100).map((e) => e.qname));
    expect([...names].sort()).toEqual(['a.pool.com', 'b.a.pool.com', 'pool.com']);
  });

  test('events carry every stored field', () => {
    const first = all[0];
    const page = queries.events({ client: first?.clientIp ?? '', untilMs: H + 1 }, 1);
    expect(page.events[0]).toEqual({
      id: 1,
      timeMs: H,
      clientIp: '10.0.0.1',
      clientPort: 1000,
      protocol: 'tcp',
      qname: 'pool.com',
      qtype: 1,
      list: 'trial',
      rule: 'pool.com',
      action: 'alerted',
      answer: 'forwarded',
      via: 'cdn.example',
      incidentId: null,
      count: 1,
      lastMs: H,
    });
  });

  test('iterateEvents reads more than one chunk', () => {
    const ids = [...queries.iterateEvents({})].map((e) => e.id);
    expect(ids).toHaveLength(all.length);
    expect(new Set(ids).size).toBe(all.length);
  });

  test.each([
    ['client', { client: "' OR '1'='1" }],
    ['client', { client: '10.0.0.1; DROP TABLE events; --' }],
    ['domain', { domain: "pool.com' OR 1=1 --" }],
    ['domain', { domain: '%' }],
    ['domain', { domain: '%.com' }],
    ['domain', { domain: '_ool.com' }],
    ['domain', { domain: 'pool.c_m' }],
    ['domain', { domain: '*.pool.com' }],
    ['domain', { domain: 'pool.com\u0000' }],
    ['list', { list: "miners' --" }],
    ['list', { list: '%' }],
  ] satisfies [string, EventFilter][])('hostile %s %j: empty, not an error', (_field, filter) => {
    expect(queries.events(filter, 100)).toEqual({ events: [] });
    expect([...queries.iterateEvents(filter)]).toEqual([]);
    expect(queries.events({}, 1).events).toHaveLength(1);
  });

  test.each([0, -1, 2.5, MAX_PAGE_LIMIT + 1, Number.NaN])('limit %d is refused, naming limit', (limit) => {
    expect(invalidParameter(() => queries.events({}, limit))).toContain('limit');
  });

  test.each([
    ['since', { sinceMs: Number.NaN }],
    ['since', { sinceMs: Number.POSITIVE_INFINITY }],
    ['until', { untilMs: 1.5 }],
  ] satisfies [string, EventFilter][])('a bad %s is refused', (name, filter) => {
    expect(invalidParameter(() => queries.events(filter, 10))).toContain(name);
  });

  test('a forged cursor is refused', () => {
    expect(invalidParameter(() => queries.events({}, 10, { timeMs: Number.NaN, id: 1 }))).toContain('cursor');
  });
});

describe('hosts and host', () => {
  test('hosts: most recent first, with counts, distinct domains and top domains', () => {
    const hosts = queries.hosts(undefined, 100);
    const lastSeen = hosts.map((h) => h.lastSeenMs);
    expect(lastSeen).toEqual([...lastSeen].sort((a, b) => b - a));
    expect(hosts.map((h) => h.clientIp).sort()).toEqual([...CLIENTS, '10.9.9.9'].sort());
    for (const host of hosts) {
      const own = all.filter((e) => e.clientIp === host.clientIp);
      const perDomain = new Map<string, number>();
      for (const event of own) perDomain.set(event.qname, (perDomain.get(event.qname) ?? 0) + 1);
      const top = [...perDomain]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1))
        .slice(0, 5)
        .map(([domain, count]) => ({ domain, count }));
      expect(host).toEqual({
        clientIp: host.clientIp,
        firstSeenMs: Math.min(...own.map((e) => e.timeMs)),
        lastSeenMs: Math.max(...own.map((e) => e.timeMs)),
        blockedCount: own.length,
        distinctDomains: perDomain.size,
        topDomains: top,
        incidentId: null,
      });
    }
  });

  test('hosts: since and limit', () => {
    expect(queries.hosts(H + 10 * HOUR, 100)).toEqual([]);
    const since = H + 96 * MINUTE;
    const recent = queries.hosts(since, 100);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.every((h) => h.lastSeenMs >= since)).toBe(true);
    expect(queries.hosts(undefined, 2)).toHaveLength(2);
    expect(invalidParameter(() => queries.hosts(undefined, 0))).toContain('limit');
  });

  test('host: summary and recent events; unknown and hostile addresses are undefined', () => {
    const host = queries.host('10.0.0.2', 3);
    expect(host?.summary.clientIp).toBe('10.0.0.2');
    expect(host?.recent.map((e) => e.id)).toEqual(expectedIds(all, { client: '10.0.0.2' }).slice(0, 3));
    expect(queries.host('10.0.0.2', 0)?.recent).toEqual([]);
    expect(queries.host('10.255.255.255', 5)).toBeUndefined();
    expect(queries.host("' OR 1=1 --", 5)).toBeUndefined();
  });
});

describe('stats', () => {
  let statsDir: string;
  let statsConnection: StoreConnection;
  const E = (minutes: number, clientIp: string, qname: string, list = 'miners'): BlockEvent =>
    blockEvent({ timeMs: H + minutes * MINUTE, clientIp, qname, list, rule: qname });
  const statsEvents = [
    E(-10, '10.0.0.1', 'early.pool.com'), // before every window below
    E(5, '10.0.0.1', 'a.pool.com'), // before since = H+10m
    E(20, '10.0.0.2', 'a.pool.com'), // the partial first hour
    E(25, '10.0.0.2', 'b.pool.com', 'coins'),
    E(70, '10.0.0.3', 'a.pool.com'),
    E(80, '10.0.0.3', 'a.pool.com'),
    E(130, '10.0.0.2', 'c.pool.com', 'coins'),
  ];

  beforeAll(() => {
    statsDir = mkdtempSync(join(tmpdir(), 'poolsink-store-stats-'));
    statsConnection = openStoreConnection(join(statsDir, 'poolsink.db'), { log });
    let now = H;
    const writer = createEventWriter({
      connection: statsConnection,
      log,
      flushIntervalMs: 3_600_000,
      maxBuffered: 7,
      clock: () => now,
    });
    for (const event of statsEvents) writer.record(event);
    writer.record(E(131, '10.0.0.9', 'dropped.pool.com')); // buffer full: dropped and counted
    writer.addOutcomes({ forwarded: 5, cached: 2 });
    now = H + 20 * MINUTE;
    writer.addOutcomes({ forwarded: 1, refused: 3 });
    writer.close();
  });

  afterAll(() => {
    statsConnection.close();
    rmSync(statsDir, { recursive: true, force: true });
  });

  test("a window starting in the second half of an hour adds that hour's last events to the next hours", () => {
    const stats = createEventQueries(statsConnection).stats(H + 40 * MINUTE, 10);
    expect(stats.sinceMs).toBe(H + 40 * MINUTE);
    expect(stats.topHosts).toEqual([
      { clientIp: '10.0.0.3', count: 2 },
      { clientIp: '10.0.0.2', count: 1 },
    ]);
    expect(stats.topDomains).toEqual([
      { domain: 'a.pool.com', count: 2 },
      { domain: 'c.pool.com', count: 1 },
    ]);
    expect(stats.perList).toEqual([
      { list: 'miners', count: 2 },
      { list: 'coins', count: 1 },
    ]);
  });

  test("a window starting in the first half of an hour subtracts that hour's first events", () => {
    const stats = createEventQueries(statsConnection).stats(H + 10 * MINUTE, 10);
    expect(stats).toEqual({
      sinceMs: H + 10 * MINUTE,
      outcomes: { forwarded: 1, refused: 3 },
      droppedEvents: 0,
      topDomains: [
        { domain: 'a.pool.com', count: 3 },
        { domain: 'b.pool.com', count: 1 },
        { domain: 'c.pool.com', count: 1 },
      ],
      topHosts: [
        { clientIp: '10.0.0.2', count: 3 },
        { clientIp: '10.0.0.3', count: 2 },
      ],
      perList: [
        { list: 'miners', count: 3 },
        { list: 'coins', count: 2 },
      ],
    });
  });

  test('an hour-aligned window reads only rollups; topLimit cuts the lists', () => {
    const stats = createEventQueries(statsConnection).stats(H - HOUR, 1);
    expect(stats.sinceMs).toBe(H - HOUR);
    expect(stats.outcomes).toEqual({ forwarded: 6, cached: 2, refused: 3 });
    expect(stats.droppedEvents).toBe(1);
    expect(stats.topDomains).toEqual([{ domain: 'a.pool.com', count: 4 }]);
    expect(stats.topHosts).toEqual([{ clientIp: '10.0.0.2', count: 3 }]);
    expect(stats.perList).toEqual([
      { list: 'miners', count: 5 },
      { list: 'coins', count: 2 },
    ]);
  });

  test('a first hour too busy to scan starts the window at the hour, and says so', () => {
    const stats = createEventQueries(statsConnection, { edgeScanMaxEvents: 0 }).stats(H + 10 * MINUTE, 10);
    expect(stats.sinceMs).toBe(H);
    expect(stats.topHosts).toEqual([
      { clientIp: '10.0.0.2', count: 3 },
      { clientIp: '10.0.0.3', count: 2 },
      { clientIp: '10.0.0.1', count: 1 },
    ]);
  });

  test('an empty window and bad arguments', () => {
    const q = createEventQueries(statsConnection);
    expect(q.stats(H + 10 * HOUR, 10)).toEqual({
      sinceMs: H + 10 * HOUR,
      outcomes: {},
      droppedEvents: 0,
      topDomains: [],
      topHosts: [],
      perList: [],
    });
    expect(invalidParameter(() => q.stats(Number.NaN, 10))).toContain('since');
    expect(invalidParameter(() => q.stats(H, 0))).toContain('top');
  });
});
