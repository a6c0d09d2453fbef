/**
 * The admin API on 127.0.0.1 port 0 over a real SQLite block log in a temp dir: authentication of
 * every route, the events/hosts/stats/check routes, exports, pagination and hostile parameters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import type { AdminDeps } from '../../src/admin/routes.js';
import { createMatcher } from '../../src/blocklist/matcher.js';
import type { BlockEvent } from '../../src/dns/block-event.js';
import type { ResolverCounters } from '../../src/dns/resolver-counters.js';
import { formatHostPort } from '../../src/net/address.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { asyncEventQueries, createEventQueries } from '../../src/store/queries.js';
import type { EventWriter } from '../../src/store/types.js';

const TOKEN = 'integration-token-0123456789';
const log = pino({ level: 'silent' });
const NOW = Date.now();

interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

let dir: string;
let connection: StoreConnection;
let writer: EventWriter;
let server: AdminServer;
let base: string;
let serving = true;

const BULK_HOST = '10.0.0.3';
const BULK_EVENTS = 1200;
const seeded: BlockEvent[] = [];

function blockEvent(overrides: Partial<BlockEvent> & Pick<BlockEvent, 'timeMs' | 'clientIp' | 'qname'>): BlockEvent {
  return {
    clientPort: 40000,
    protocol: 'udp',
    qtype: 1,
    list: 'pools',
    rule: 'pool.example',
    action: 'blocked',
    answer: 'nxdomain',
    ...overrides,
  };
}

function seed(): void {
  for (let i = 0; i < 5; i++) {
    seeded.push(
      blockEvent({
        timeMs: NOW - 1000 * (i + 1),
        clientIp: '10.0.0.1',
        qname: i < 3 ? 'pool.example' : 'x.pool.example',
      }),
    );
  }
  for (let i = 0; i < 3; i++) {
    seeded.push(
      blockEvent({
        timeMs: NOW - 1500 * (i + 1),
        clientIp: '10.0.0.2',
        qname: 'trial.example',
        list: 'trial',
        rule: 'trial.example',
        action: 'alerted',
        answer: 'forwarded',
      }),
    );
  }
  for (let i = 0; i < 2; i++) {
    seeded.push(
      blockEvent({
        timeMs: NOW - 2000 * (i + 1),
        clientIp: '2001:db8::5',
        qname: 'minexmr.test',
        rule: 'minexmr.test',
        protocol: 'tcp',
      }),
    );
  }
  // Older bulk traffic, with equal timestamps in pairs so the keyset's id tiebreak is exercised.
  for (let i = 0; i < BULK_EVENTS; i++) {
    seeded.push(
      blockEvent({
        timeMs: NOW - 3_600_000 - Math.floor(i / 2) * 10,
        clientIp: BULK_HOST,
        qname: `h${i}.pool.example`,
      }),
    );
  }
  // Text that would break a naive CSV or JSON writer, from a hostile client.
  seeded.push(
    blockEvent({
      timeMs: NOW - 7_200_000,
      clientIp: '10.0.0.9',
      qname: 'a"b,c=d.pool.example',
      via: '=cmd.pool.example',
    }),
  );
  for (const event of seeded) writer.record(event);
  writer.flush();
}

const counters: ResolverCounters = {
  queries: 100,
  blocked: 10,
  alerted: 3,
  cached: 40,
  forwarded: 47,
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

function deps(overrides: Partial<AdminDeps> = {}): AdminDeps {
  return {
    resolver: {
      counters,
      matcher: createMatcher(
        [
          { name: 'pools', domains: ['pool.example', 'minexmr.test'], wildcards: ['wild.example'] },
          { name: 'trial', mode: 'alert', domains: ['trial.example'], wildcards: [] },
        ],
        ['good.pool.example'],
      ),
      pending: 0,
    },
    cache: { size: 5 },
    upstream: {
      stats: { sent: 47, answered: 47, timeouts: 0, mismatched: 0, tcpRetries: 0, errors: 0 },
      health: () => [{ upstream: '127.0.0.1:5300', consecutiveFailures: 0 }],
    },
    events: asyncEventQueries(createEventQueries(connection)),
    eventWriter: writer,
    health: () => ({ serving, listeners: [{ protocol: 'udp', address: '127.0.0.1:5353' }] }),
    clock: () => NOW,
    ...overrides,
  };
}

async function call(
  path: string,
  options: { method?: string; token?: string | null; headers?: Record<string, string> } = {},
  at = base,
): Promise<Response> {
  const token = options.token === undefined ? TOKEN : options.token;
  const response = await request(`${at}${path}`, {
    method: options.method ?? 'GET',
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...options.headers },
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

async function getJson(path: string): Promise<unknown> {
  const response = await call(path);
  expect(response.status, response.text).toBe(200);
  return JSON.parse(response.text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, key: string): unknown {
  if (!isRecord(value)) throw new Error(`not an object: ${JSON.stringify(value)}`);
  return value[key];
}

function array(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new Error(`not an array: ${JSON.stringify(value)}`);
  return value;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-admin-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
  writer = createEventWriter({ connection, log, flushIntervalMs: 50 });
  seed();
  server = await startAdminServer({ listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, log, deps: deps() });
  base = `http://${formatHostPort(server.address)}`;
});

afterAll(async () => {
  await server?.close();
  writer?.close();
  connection?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authentication', () => {
  /** Every operation of the OpenAPI document, with its path parameters filled in. */
  async function everyOperation(): Promise<[string, string][]> {
    const doc = await getJson('/api/v1/openapi.json');
    const paths = field(doc, 'paths');
    if (!isRecord(paths)) throw new Error('no paths');
    return Object.entries(paths).flatMap(([path, operations]) =>
      Object.keys(isRecord(operations) ? operations : {}).map((method): [string, string] => [
        method.toUpperCase(),
        path.replace('{ip}', '10.0.0.1').replace('{name}', 'pools'),
      ]),
    );
  }

  test('every route but /healthz refuses a missing or wrong token with 401 and a Bearer challenge', async () => {
    const operations = await everyOperation();
    expect(operations.length).toBeGreaterThanOrEqual(17);
    for (const [method, path] of operations) {
      for (const token of [null, 'wrong-token-0123456789', `${TOKEN}x`, '']) {
        const response = await call(path, { method, token });
        if (path === '/healthz') {
          expect(response.status, `${method} ${path}`).toBe(200);
          continue;
        }
        expect(response.status, `${method} ${path} token=${token}`).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="poolsink"/);
        expect(JSON.parse(response.text)).toEqual({
          error: { code: 'ERR_UNAUTHORIZED', message: 'a valid bearer token is required' },
        });
      }
    }
  });

  test('unknown paths and wrong methods are 401 before 404/405: nothing is revealed without the token', async () => {
    expect((await call('/api/v1/nope', { token: null })).status).toBe(401);
    expect((await call('/api/v1/hosts/%zz', { token: null })).status).toBe(401);
    expect((await call('/api/v1/events?limit=abc', { token: null })).status).toBe(401);
    expect((await call('/api/v1/events', { method: 'DELETE', token: null })).status).toBe(401);
    expect((await call('/api/v1/nope')).status).toBe(404);
    const wrongMethod = await call('/api/v1/events', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers['allow']).toBe('GET');
    const healthz = await call('/healthz', { method: 'POST', token: null });
    expect(healthz.status).toBe(405);
    expect(healthz.headers['allow']).toBe('GET');
  });

  test('basic auth, a token in the query string or a cookie do not authenticate', async () => {
    expect((await call(`/api/v1/stats?token=${TOKEN}`, { token: null })).status).toBe(401);
    expect(
      (
        await call('/api/v1/stats', {
          token: null,
          headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
        })
      ).status,
    ).toBe(401);
    expect((await call('/api/v1/stats', { token: null, headers: { cookie: `token=${TOKEN}` } })).status).toBe(401);
  });
});

describe('responses', () => {
  test('carry no-store, nosniff and a JSON content type; errors never carry a stack', async () => {
    for (const path of ['/api/v1/stats', '/api/v1/nope', '/api/v1/events?limit=0', '/healthz']) {
      const response = await call(path);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
  });
});

describe('/api/v1/events', () => {
  test('newest first; keyset pages cover every event exactly once', async () => {
    const seen: number[] = [];
    let times: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await getJson(`/api/v1/events?limit=250${cursor === null ? '' : `&cursor=${cursor}`}`);
      const events = array(field(page, 'events'));
      for (const event of events) {
        seen.push(Number(field(event, 'id')));
        times.push(Number(field(event, 'timeMs')));
      }
      const next = field(page, 'nextCursor');
      cursor = typeof next === 'string' ? next : null;
      pages++;
    } while (cursor !== null && pages < 100);
    expect(seen).toHaveLength(seeded.length);
    expect(new Set(seen).size).toBe(seeded.length);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(pages).toBe(Math.ceil(seeded.length / 250));
    times = [];
  });

  test('an event as the API shows it', async () => {
    const page = await getJson('/api/v1/events?client=2001:db8::5&limit=1');
    expect(array(field(page, 'events'))[0]).toMatchObject({
      clientIp: '2001:db8::5',
      clientPort: 40000,
      protocol: 'tcp',
      qname: 'minexmr.test',
      qtype: 1,
      qtypeName: 'A',
      list: 'pools',
      rule: 'minexmr.test',
      action: 'blocked',
      answer: 'nxdomain',
      via: null,
      time: new Date(NOW - 2000).toISOString(),
    });
    expect(typeof field(page, 'nextCursor')).toBe('string');
  });

  test.each([
    ['client=10.0.0.1', 5],
    ['client=2001:DB8:0:0::5', 2],
    ['domain=pool.example&client=10.0.0.1', 5],
    ['domain=x.pool.example', 2],
    ['domain=POOL.example.&client=10.0.0.1', 5],
    ['domain=trial.example', 3],
    ['list=trial', 3],
    ['action=alerted', 3],
    ['action=blocked&client=10.0.0.1', 5],
    ['since=30m', 10],
    [`since=${new Date(NOW - 3000).toISOString()}`, 6],
    [`until=${new Date(NOW - 3_000_000).toISOString()}&client=10.0.0.1`, 0],
    ['client=10.0.0.1&since=2s', 2], // inclusive: NOW-1000 and NOW-2000
    ['client=192.0.2.1', 0],
    ['domain=nothing.example', 0],
    ["list=x' OR '1'='1", 0],
    ['list=pools; DROP TABLE events; --', 0],
  ])('filter %s → %d events', async (query, count) => {
    const page = await getJson(`/api/v1/events?limit=1000&${query}`);
    expect(array(field(page, 'events'))).toHaveLength(count);
  });

  test('csv export: every matching event, hostile text quoted and defused', async () => {
    const response = await call('/api/v1/events?format=csv');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe('attachment; filename="poolsink-events.csv"');
    expect(response.headers['cache-control']).toBe('no-store');
    const lines = response.text.split('\r\n');
    expect(lines[0]).toBe(
      'time,timeMs,id,clientIp,clientPort,protocol,qname,qtype,qtypeName,list,rule,action,answer,via,count,lastTime,host_name,instance_id',
    );
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(seeded.length + 2);
    const hostile = lines.find((l) => l.includes('10.0.0.9'));
    // The name in presentation format (a quote is \" as dig shows it), then CSV-quoted.
    expect(hostile).toContain(',"a\\""b,c=d.pool.example",');
    expect(hostile).toContain(",'=cmd.pool.example,1,");
  });

  test('ndjson export honours the filters', async () => {
    const response = await call(`/api/v1/events?format=ndjson&client=${BULK_HOST}`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const events = response.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events).toHaveLength(BULK_EVENTS);
    expect(new Set(events.map((e) => field(e, 'clientIp')))).toEqual(new Set([BULK_HOST]));
  });

  test('an export of nothing is a csv header or an empty body', async () => {
    expect((await call('/api/v1/events?format=csv&client=192.0.2.1')).text).toBe(
      'time,timeMs,id,clientIp,clientPort,protocol,qname,qtype,qtypeName,list,rule,action,answer,via,count,lastTime,host_name,instance_id\r\n',
    );
    expect((await call('/api/v1/events?format=ndjson&client=192.0.2.1')).text).toBe('');
  });

  test('a client that goes away mid-export does not disturb the server', async () => {
    const response = await request(`${base}/api/v1/events?format=ndjson`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(200);
    for await (const chunk of response.body) {
      expect(chunk.length).toBeGreaterThan(0);
      break; // leaving the loop destroys the body and the connection
    }
    const after = await getJson('/api/v1/events?limit=1');
    expect(array(field(after, 'events'))).toHaveLength(1);
  });
});

describe('/api/v1/hosts', () => {
  test('most recent first, with counts and top domains', async () => {
    const body = await getJson('/api/v1/hosts');
    const hosts = array(field(body, 'hosts'));
    expect(hosts.map((h) => field(h, 'clientIp'))).toEqual([
      '10.0.0.1',
      '10.0.0.2',
      '2001:db8::5',
      BULK_HOST,
      '10.0.0.9',
    ]);
    expect(hosts[0]).toMatchObject({
      clientIp: '10.0.0.1',
      blockedCount: 5,
      distinctDomains: 2,
      lastSeen: new Date(NOW - 1000).toISOString(),
      firstSeen: new Date(NOW - 5000).toISOString(),
      topDomains: [
        { domain: 'pool.example', count: 3 },
        { domain: 'x.pool.example', count: 2 },
      ],
    });
  });

  test('since and limit', async () => {
    expect(array(field(await getJson('/api/v1/hosts?since=30m'), 'hosts'))).toHaveLength(3);
    expect(array(field(await getJson('/api/v1/hosts?limit=2'), 'hosts'))).toHaveLength(2);
  });

  test('one host: summary and recent events; IPv6 in any spelling; unknown → 404', async () => {
    const body = await getJson('/api/v1/hosts/2001:DB8::0:5?limit=1');
    expect(field(body, 'host')).toMatchObject({ clientIp: '2001:db8::5', blockedCount: 2 });
    expect(array(field(body, 'recentEvents'))).toHaveLength(1);
    const missing = await call('/api/v1/hosts/192.0.2.77');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({
      error: { code: 'ERR_NOT_FOUND', message: 'no blocked queries recorded from 192.0.2.77' },
    });
  });
});

describe('/api/v1/stats and /api/v1/check', () => {
  test('stats over the window plus the live counters', async () => {
    const stats = await getJson('/api/v1/stats?since=30m&top=2');
    expect(stats).toMatchObject({
      topDomains: [
        { domain: 'pool.example', count: 3 },
        { domain: 'trial.example', count: 3 },
      ],
      topHosts: [
        { clientIp: '10.0.0.1', count: 5 },
        { clientIp: '10.0.0.2', count: 3 },
      ],
      live: { counters: { queries: 100, blocked: 10 }, cacheEntries: 5, blockedDomains: 4, allowlistEntries: 1 },
    });
    const perList = array(field(stats, 'perList'));
    expect(perList).toEqual(
      expect.arrayContaining([
        { list: 'pools', count: 7 },
        { list: 'trial', count: 3 },
      ]),
    );
    expect(typeof field(stats, 'since')).toBe('string');
  });

  test.each([
    ['x.pool.example', { verdict: 'block', list: 'pools', rule: 'pool.example' }],
    ['a.wild.example', { verdict: 'block', list: 'pools', rule: '*.wild.example' }],
    ['TRIAL.example.', { domain: 'trial.example', verdict: 'alert', list: 'trial', rule: 'trial.example' }],
    ['x.good.pool.example', { verdict: 'allowlisted', rule: 'good.pool.example' }],
    ['notpool.example', { verdict: 'allow' }],
  ])('check %s', async (domain, expected) => {
    const body = await getJson(`/api/v1/check?domain=${encodeURIComponent(domain)}`);
    expect(body).toMatchObject(expected);
    if (field(body, 'verdict') === 'allow')
      expect(Object.keys(isRecord(body) ? body : {})).toEqual(['domain', 'verdict']);
  });
});

describe('hostile parameters get 400 naming the parameter (or an empty result), never a 500', () => {
  test.each([
    ['/api/v1/events?limit=1001', 'limit'],
    ['/api/v1/events?limit=99999999999999999999999', 'limit'],
    ['/api/v1/events?limit=-1', 'limit'],
    ['/api/v1/events?limit=1e3', 'limit'],
    ['/api/v1/events?limit=1&limit=2', 'limit'],
    ['/api/v1/events?since=yesterday', 'since'],
    ['/api/v1/events?since=2024-02-30', 'since'],
    ["/api/v1/events?since=1h'%20OR%201=1--", 'since'],
    ['/api/v1/events?until=9999999999d', 'until'],
    ['/api/v1/events?since=1h&until=2h', 'since'],
    ['/api/v1/events?client=10.0.0.1%27%20OR%20%271%27=%271', 'client'],
    ['/api/v1/events?client=999.1.1.1', 'client'],
    ['/api/v1/events?client=', 'client'],
    ['/api/v1/events?domain=%22%3B%20DROP%20TABLE%20events%3B%20--', 'domain'],
    ['/api/v1/events?domain=%25', 'domain'],
    ['/api/v1/events?action=deleted', 'action'],
    ['/api/v1/events?format=xml', 'format'],
    ['/api/v1/events?cursor=not-a-cursor', 'cursor'],
    ['/api/v1/events?cursor=%00%01', 'cursor'],
    [`/api/v1/events?cursor=${Buffer.from('{"timeMs":"1 OR 1=1","id":1}').toString('base64url')}`, 'cursor'],
    [`/api/v1/events?list=${'x'.repeat(201)}`, 'list'],
    [`/api/v1/events?domain=${'a'.repeat(5000)}.example`, 'domain'],
    ['/api/v1/events?clinet=10.0.0.1', 'clinet'],
    ['/api/v1/events?format=csv&limit=10', 'limit'],
    ['/api/v1/hosts?since=-5m', 'since'],
    ['/api/v1/hosts?limit=0', 'limit'],
    ['/api/v1/hosts/..%2F..%2Fetc%2Fpasswd', 'ip'],
    ['/api/v1/hosts/10.0.0.1%27--', 'ip'],
    ['/api/v1/hosts/%E0%A4%A', 'ip'],
    ['/api/v1/stats?since=%27', 'since'],
    ['/api/v1/stats?top=101', 'top'],
    ['/api/v1/check', 'domain'],
    ['/api/v1/check?domain=..%2F..%2Fetc', 'domain'],
    ['/api/v1/check?domain=localhost', 'domain'],
    ['/api/v1/openapi.json?x=1', 'x'],
  ])('%s', async (path, param) => {
    const response = await call(path);
    expect(response.status, response.text).toBe(400);
    const body: unknown = JSON.parse(response.text);
    expect(field(field(body, 'error'), 'code')).toBe('ERR_INVALID');
    expect(field(field(body, 'error'), 'param')).toBe(param);
  });

  test.each([
    '/api/v1/hosts/../../../healthz', // the URL parser resolves dot segments: this is /healthz
    '/api/v1/events/../stats',
  ])('dot segments resolve to another route, which still applies its own auth: %s', async (path) => {
    expect((await call(path)).status).toBe(200);
  });
});

describe('/healthz and /metrics', () => {
  test('healthz: 200 while serving, with listener, list and store state; 503 when not', async () => {
    const ok = await call('/healthz', { token: null });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({
      status: 'ok',
      listeners: [{ protocol: 'udp', address: '127.0.0.1:5353' }],
      lists: [
        { name: 'pools', entries: 3, ok: true },
        { name: 'trial', entries: 1, ok: true },
      ],
      store: { healthy: true, buffered: 0, dropped: 0 },
    });
    serving = false;
    try {
      const down = await call('/healthz', { token: null });
      expect(down.status).toBe(503);
      expect(JSON.parse(down.text)).toMatchObject({ status: 'unavailable' });
    } finally {
      serving = true;
    }
  });

  test('metrics: Prometheus text with the token', async () => {
    const response = await call('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.text).toContain('poolsink_dns_queries_total{protocol="all"} 100');
    expect(response.text).toContain('poolsink_events_written_total');
    expect((await call('/metrics', { token: null })).status).toBe(401);
  });

  test('metrics without a token when metricsAuth is false; the API still needs it', async () => {
    const open = await startAdminServer({
      listen: { host: '127.0.0.1', port: 0 },
      token: TOKEN,
      log,
      metricsAuth: false,
      deps: deps(),
    });
    try {
      const at = `http://${formatHostPort(open.address)}`;
      expect((await call('/metrics', { token: null }, at)).status).toBe(200);
      expect((await call('/api/v1/stats', { token: null }, at)).status).toBe(401);
      const doc: unknown = JSON.parse((await call('/api/v1/openapi.json', {}, at)).text);
      expect(field(field(field(doc, 'paths'), '/metrics'), 'get')).toMatchObject({ security: [] });
    } finally {
      await open.close();
    }
  });
});
