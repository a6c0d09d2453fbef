/**
 * `client` filters with a CIDR, end to end over a real SQLite block log (written by the real event
 * writer with the incident tracker): the admin API on 127.0.0.1 port 0 (events pages and exports,
 * incidents) and the built CLI (`poolsink events`, `poolsink incidents`) reading the same file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { createMatcher } from '../../src/blocklist/matcher.js';
import type { ResolverCounters } from '../../src/dns/resolver-counters.js';
import { createIncidentTracker } from '../../src/incidents/incident-tracker.js';
import { formatHostPort } from '../../src/net/address.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter, type InProcessEventWriter } from '../../src/store/event-writer.js';
import { asyncEventQueries, createEventQueries } from '../../src/store/queries.js';
import { blockEvent } from '../helpers/block-events.js';
import { runCli } from '../helpers/cli.js';

const TOKEN = 'integration-token-0123456789';
const log = pino({ level: 'silent' });
const NOW = Date.now();
/** A small bound, so "too many hosts" needs four hosts, not ten thousand. */
const MAX_FILTER_CLIENTS = 3;

/** Events per client, newest first by construction; times interleave across clients. */
const CLIENTS: Readonly<Record<string, number>> = {
  '10.0.3.1': 40,
  '10.0.3.200': 25,
  '10.0.4.1': 30, // outside 10.0.3.0/24, inside 10.0.0.0/16
  '10.0.30.1': 5, // shares the text prefix "10.0.3" but not the network
  'fd00:1::5': 12,
  'fd00:1::a:6': 9,
  'fd00:2::5': 7, // outside fd00:1::/64
};

let dir: string;
let config: string;
let connection: StoreConnection;
let writer: InProcessEventWriter;
let server: AdminServer;
let base: string;

const counters: ResolverCounters = {
  queries: 0,
  blocked: 0,
  alerted: 0,
  cached: 0,
  forwarded: 0,
  stale: 0,
  refused: 0,
  servfail: 0,
  formerr: 0,
  notimp: 0,
  dropped: 0,
  truncated: 0,
  cloaked: 0,
  coalesced: 0,
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-cidr-'));
  mkdirSync(join(dir, 'data'));
  config = join(dir, 'poolsink.yaml');
  writeFileSync(config, 'upstreams: ["127.0.0.1:9"]\ndataDir: data\n');
  connection = openStoreConnection(join(dir, 'data', 'poolsink.db'), { log });
  const tracker = createIncidentTracker({
    connection,
    log,
    severities: {},
    autoResolveHours: 72,
    outbox: { enqueue: () => undefined },
    identityFor: () => undefined,
    clock: () => NOW,
  });
  writer = createEventWriter({ connection, log, batchHook: tracker, clock: () => NOW });
  // Equal times across clients (every 3rd step) exercise the id tiebreak in the merge.
  for (const [clientIp, count] of Object.entries(CLIENTS)) {
    for (let i = 0; i < count; i++) {
      writer.record(blockEvent(NOW - 60_000 - Math.floor(i / 3) * 1000, { clientIp, qname: `n${i}.pool.example` }));
    }
  }
  writer.flush();
  server = await startAdminServer({
    listen: { host: '127.0.0.1', port: 0 },
    token: TOKEN,
    log,
    deps: {
      resolver: { counters, matcher: createMatcher([], []), pending: 0 },
      cache: { size: 0 },
      upstream: {
        stats: { sent: 0, answered: 0, timeouts: 0, mismatched: 0, tcpRetries: 0, errors: 0 },
        health: () => [],
      },
      events: asyncEventQueries(createEventQueries(connection, { maxFilterClients: MAX_FILTER_CLIENTS })),
      eventWriter: writer,
      health: () => ({ serving: true, listeners: [] }),
      clock: () => NOW,
    },
  });
  base = `http://${formatHostPort(server.address)}`;
});

afterAll(async () => {
  await server?.close();
  writer?.close();
  connection?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface EventJson {
  readonly id: number;
  readonly timeMs: number;
  readonly clientIp: string;
}

async function get(path: string): Promise<{ status: number; text: string }> {
  const response = await request(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: response.statusCode, text: await response.body.text() };
}

async function getJson(path: string): Promise<Record<string, unknown>> {
  const { status, text } = await get(path);
  expect(status, text).toBe(200);
  const body: unknown = JSON.parse(text);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`not an object: ${text}`);
  return Object.fromEntries(Object.entries(body));
}

function eventsOf(value: unknown): EventJson[] {
  if (!Array.isArray(value)) throw new Error(`not an array: ${JSON.stringify(value)}`);
  return value.map((e: unknown) => {
    if (typeof e !== 'object' || e === null) throw new Error('not an event');
    return {
      id: Number(Reflect.get(e, 'id')),
      timeMs: Number(Reflect.get(e, 'timeMs')),
      clientIp: String(Reflect.get(e, 'clientIp')),
    };
  });
}

/** Every page of /events for `query`, following nextCursor. */
async function allPages(query: string, limit: number): Promise<{ events: EventJson[]; pages: number }> {
  const events: EventJson[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const body = await getJson(
      `/api/v1/events?${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    events.push(...eventsOf(body['events']));
    const next = body['nextCursor'];
    cursor = typeof next === 'string' ? next : null;
    pages++;
  } while (cursor !== null);
  return { events, pages };
}

/** The expected answer: every event of `clients`, newest first (time, then id). */
async function expectedFor(clients: readonly string[]): Promise<EventJson[]> {
  const { events } = await allPages('', 1000);
  return events.filter((e) => clients.includes(e.clientIp));
}

function countsOf(events: readonly EventJson[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.clientIp] = (counts[e.clientIp] ?? 0) + 1;
  return counts;
}

describe('client=CIDR over the API', () => {
  test('10.0.3.0/24: exactly its two hosts, paged across page boundaries in order', async () => {
    const expected = await expectedFor(['10.0.3.1', '10.0.3.200']);
    expect(expected).toHaveLength(65);
    for (const limit of [7, 64, 65, 100]) {
      const { events, pages } = await allPages('client=10.0.3.0%2F24', limit);
      expect(events, `limit ${limit}`).toEqual(expected);
      expect(pages).toBe(Math.max(1, Math.ceil(65 / limit)) + (65 % limit === 0 && limit < 65 ? 1 : 0));
    }
  });

  test('IPv6 fd00:1::/64 and a CIDR with other filters', async () => {
    const v6 = await allPages('client=fd00:1::%2F64', 5);
    expect(countsOf(v6.events)).toEqual({ 'fd00:1::5': 12, 'fd00:1::a:6': 9 });
    expect(v6.events).toEqual(await expectedFor(['fd00:1::5', 'fd00:1::a:6']));
    const since = NOW - 60_000 - 2000; // the newest three steps: i < 9 for every client
    const narrowed = await allPages(
      `client=10.0.3.0%2F24&since=${new Date(since).toISOString()}&domain=pool.example`,
      4,
    );
    expect(countsOf(narrowed.events)).toEqual({ '10.0.3.1': 9, '10.0.3.200': 9 });
  });

  test('a plain address is unchanged; /32 and a network with no hosts', async () => {
    expect(countsOf((await allPages('client=10.0.3.1', 100)).events)).toEqual({ '10.0.3.1': 40 });
    expect(countsOf((await allPages('client=10.0.3.1%2F32', 100)).events)).toEqual({ '10.0.3.1': 40 });
    expect(await getJson('/api/v1/events?client=192.0.2.0%2F24')).toEqual({ events: [], nextCursor: null });
  });

  test('exports (ndjson) with a CIDR', async () => {
    const { status, text } = await get('/api/v1/events?client=10.0.3.0%2F24&format=ndjson');
    expect(status).toBe(200);
    const lines = text
      .trim()
      .split('\n')
      .map((line): unknown => JSON.parse(line));
    expect(lines.map((e) => ({ ...eventsOf([e])[0] }))).toEqual(await expectedFor(['10.0.3.1', '10.0.3.200']));
  });

  test.each(['10.0.3.0%2F33', 'fd00::%2F129', '10.0.3%2F24', '10.0.3.0%2F'])(
    'client=%s → 400 naming client',
    async (value) => {
      const { status, text } = await get(`/api/v1/events?client=${value}`);
      expect(status).toBe(400);
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'ERR_INVALID', param: 'client' } });
      const incidents = await get(`/api/v1/incidents?client=${value}`);
      expect(incidents.status).toBe(400);
    },
  );

  test('a network holding more known hosts than the bound → 400 saying to narrow it', async () => {
    // 10.0.0.0/16 holds four hosts; the bound here is three.
    for (const path of ['/api/v1/events?client=10.0.0.0%2F16', '/api/v1/incidents?client=10.0.0.0%2F16']) {
      const { status, text } = await get(path);
      expect(status, path).toBe(400);
      expect(JSON.parse(text)).toMatchObject({
        error: {
          code: 'ERR_INVALID',
          param: 'client',
          message: expect.stringMatching(/more than 3 known hosts.*longer prefix/),
        },
      });
    }
    // Three hosts are within the bound.
    expect(countsOf((await allPages('client=fd00::%2F8', 100)).events)).toEqual({
      'fd00:1::5': 12,
      'fd00:1::a:6': 9,
      'fd00:2::5': 7,
    });
  });

  test('incidents: one per host, filtered by a CIDR, paged', async () => {
    const first = await getJson('/api/v1/incidents?client=10.0.3.0%2F24&limit=1');
    const next = first['nextCursor'];
    expect(typeof next).toBe('string');
    const second = await getJson(`/api/v1/incidents?client=10.0.3.0%2F24&limit=1&cursor=${String(next)}`);
    expect(second['nextCursor']).toBeNull();
    const hosts = [first, second].flatMap((page) => {
      const list = page['incidents'];
      return Array.isArray(list) ? list.map((i: unknown) => String(Reflect.get(Object(i), 'clientIp'))) : [];
    });
    expect(hosts.sort()).toEqual(['10.0.3.1', '10.0.3.200']);
    const v6 = await getJson('/api/v1/incidents?client=fd00:1::%2F64');
    expect(Array.isArray(v6['incidents']) && v6['incidents'].length).toBe(2);
  });
});

describe('--client CIDR in the CLI', () => {
  test('poolsink events and poolsink incidents', async () => {
    const events = await runCli(['events', '--config', config, '--client', '10.0.3.0/24', '--format', 'ndjson']);
    expect(events.code, events.stderr).toBe(0);
    const lines = events.stdout
      .trim()
      .split('\n')
      .map((line): unknown => JSON.parse(line));
    expect(countsOf(eventsOf(lines))).toEqual({ '10.0.3.1': 40, '10.0.3.200': 25 });

    const v6 = await runCli(['events', '--config', config, '--client', 'fd00:1::/64', '--limit', '5']);
    expect(v6.code, v6.stderr).toBe(0);
    expect(v6.stdout.trim().split('\n')).toHaveLength(7); // header, rule, five events
    expect(v6.stdout).not.toContain('fd00:2::5');

    const incidents = await runCli(['incidents', '--config', config, '--client', '10.0.3.0/24']);
    expect(incidents.code, incidents.stderr).toBe(0);
    expect(incidents.stdout).toContain('10.0.3.1');
    expect(incidents.stdout).toContain('10.0.3.200');
    expect(incidents.stdout).not.toContain('10.0.4.1');

    const bad = await runCli(['events', '--config', config, '--client', '10.0.3.0/33']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--client');
    const badIncidents = await runCli(['incidents', '--config', config, '--client', 'fd00::/200']);
    expect(badIncidents.code).toBe(2);
    expect(badIncidents.stderr).toContain('--client');
  });
});
