/**
 * The dashboard's routes (/timeseries, /overview, /config) on a real poolsink fed by real DNS
 * queries from loopback client addresses, read over the authenticated admin API.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { POOL_AND_TRIAL_LISTS, queriesFrom, useStacks, type Stack } from '../helpers/stack.js';

// Expects a repeat to be a cache hit: with dns.workers each process has its own cache.
const stacks = useStacks({ singleProcess: true, lists: POOL_AND_TRIAL_LISTS });

function start(config: Record<string, unknown> = {}, dir?: string): Promise<Stack> {
  return stacks.start({ config, ...(dir !== undefined ? { dir } : {}) });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function getJson(stack: Stack, path: string): Promise<Record<string, unknown>> {
  const { status, body } = await stack.api(path);
  expect(status, JSON.stringify(body)).toBe(200);
  if (!isRecord(body)) throw new Error(`not an object: ${JSON.stringify(body)}`);
  return body;
}

interface Bucket {
  start: string;
  total: number;
  byList: Record<string, number>;
  outcomes: Record<string, number>;
}

function bucketsOf(body: Record<string, unknown>): Bucket[] {
  const buckets = body['buckets'];
  if (!Array.isArray(buckets)) throw new Error('no buckets');
  return buckets.filter(isRecord).map((b) => ({
    start: String(b['start']),
    total: Number(b['total']),
    byList: isRecord(b['byList'])
      ? Object.fromEntries(Object.entries(b['byList']).map(([k, v]) => [k, Number(v)]))
      : {},
    outcomes: isRecord(b['outcomes'])
      ? Object.fromEntries(Object.entries(b['outcomes']).map(([k, v]) => [k, Number(v)]))
      : {},
  }));
}

function sum(buckets: readonly Bucket[], pick: (b: Bucket) => number | undefined): number {
  return buckets.reduce((total, b) => total + (pick(b) ?? 0), 0);
}

describe('GET /api/v1/timeseries', () => {
  test('every bucket of each range, attempts stacked by list, outcomes; 400 on a bad range, 401 without token', async () => {
    const stack = await start();
    await queriesFrom(stack, '127.0.0.2', 'a.pool.example', 3);
    await queriesFrom(stack, '127.0.0.3', 'newpool.example', 2);
    await queriesFrom(stack, '127.0.0.3', 'allowed.example', 1);
    stack.poolsink.eventWriter.flush();

    for (const [range, bucketSeconds, count] of [
      ['24h', 3600, 24],
      ['7d', 21_600, 28],
      ['30d', 86_400, 30],
    ] as const) {
      const body = await getJson(stack, `/api/v1/timeseries?range=${range}`);
      expect(body).toMatchObject({ range, bucketSeconds, lists: ['pools', 'trial'] });
      const buckets = bucketsOf(body);
      expect(buckets).toHaveLength(count);
      const starts = buckets.map((b) => Date.parse(b.start));
      expect(starts[0]).toBe(Date.parse(String(body['from'])));
      starts.forEach((start, i) => {
        expect(start % (bucketSeconds * 1000)).toBe(0);
        if (i > 0) expect(start - (starts[i - 1] ?? 0)).toBe(bucketSeconds * 1000);
      });
      expect(Date.parse(String(body['to']))).toBe((starts[count - 1] ?? 0) + bucketSeconds * 1000);
      expect(Date.parse(String(body['to']))).toBeGreaterThan(Date.now() - 1000);
      expect(sum(buckets, (b) => b.byList['pools'])).toBe(3);
      expect(sum(buckets, (b) => b.byList['trial'])).toBe(2);
      expect(sum(buckets, (b) => b.total)).toBe(5);
      expect(buckets.filter((b) => b.total === 0).length).toBeGreaterThanOrEqual(count - 2);
    }
    const plain = await getJson(stack, '/api/v1/timeseries');
    expect(plain['range']).toBe('24h');
    expect(bucketsOf(plain).every((b) => Object.keys(b.outcomes).length === 0)).toBe(true);
    expect(JSON.stringify(plain)).not.toContain('outcomes');

    // Outcome counts reach the database every few seconds.
    await vi.waitFor(
      async () => {
        const buckets = bucketsOf(await getJson(stack, '/api/v1/timeseries?range=24h&outcomes=true'));
        expect(sum(buckets, (b) => b.outcomes['blocked'])).toBe(3);
        expect(sum(buckets, (b) => b.outcomes['alerted'])).toBe(2);
        // The second alerted query is answered from the cache.
        expect(sum(buckets, (b) => b.outcomes['forwarded'])).toBe(2);
        expect(sum(buckets, (b) => b.outcomes['cached'])).toBe(1);
      },
      { timeout: 30_000, interval: 200 },
    );

    const bad = await stack.api('/api/v1/timeseries?range=1y');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'ERR_INVALID', param: 'range' } });
    expect((await stack.api('/api/v1/timeseries', { token: null })).status).toBe(401);
  }, 60_000);
});

describe('GET /api/v1/overview', () => {
  test('incidents by severity and state, hosts, top names with list, outcomes, list/upstream/store health', async () => {
    const stack = await start();
    await queriesFrom(stack, '127.0.0.2', 'a.pool.example', 4);
    await queriesFrom(stack, '127.0.0.3', 'minexmr.test', 1);
    await queriesFrom(stack, '127.0.0.4', 'newpool.example', 2);
    await queriesFrom(stack, '127.0.0.4', 'allowed.example', 1);
    stack.poolsink.eventWriter.flush();
    const incidents = await getJson(stack, '/api/v1/incidents?client=127.0.0.3');
    const incident = Array.isArray(incidents['incidents']) ? incidents['incidents'][0] : undefined;
    const id = isRecord(incident) ? Number(incident['id']) : 0;
    const ack = await stack.api(`/api/v1/incidents/${id}/acknowledge`, { method: 'POST', body: { note: 'on it' } });
    expect(ack.status).toBe(200);

    const body = await getJson(stack, '/api/v1/overview');
    expect(body['incidents']).toMatchObject({
      open: 2,
      acknowledged: 1,
      openBySeverity: { low: 0, medium: 1, high: 1, critical: 0 },
    });
    expect(body['hostsAffected24h']).toBe(3);
    expect(body['topNames']).toEqual([
      { name: 'a.pool.example', count: 4, list: 'pools' },
      { name: 'newpool.example', count: 2, list: 'trial' },
      { name: 'minexmr.test', count: 1, list: 'pools' },
    ]);
    expect(body['outcomes']).toMatchObject({ sinceStart: { blocked: 5, alerted: 2, forwarded: 2, cached: 1 } });
    const lists = Array.isArray(body['lists']) ? body['lists'] : [];
    expect(lists).toEqual([
      expect.objectContaining({ name: 'pools', mode: 'block', entries: 2, lastError: null, ok: true }),
      expect.objectContaining({ name: 'trial', mode: 'alert', entries: 1, lastError: null, ok: true }),
    ]);
    expect(body['upstreams']).toEqual([
      expect.objectContaining({ upstream: stacks.upstreamOf(stack).address, healthy: true, consecutiveFailures: 0 }),
    ]);
    // 7 queries, 5 rows: the repeats of a.pool.example and newpool.example are one row each.
    expect(body['store']).toMatchObject({ healthy: true, written: 5, dropped: 0, droppedLast24h: 0, buffered: 0 });

    const top1 = await getJson(stack, '/api/v1/overview?top=1');
    expect(top1['topNames']).toHaveLength(1);
    expect((await stack.api('/api/v1/overview?top=0')).status).toBe(400);
    expect((await stack.api('/api/v1/overview', { token: null })).status).toBe(401);

    await vi.waitFor(
      async () => {
        const outcomes = (await getJson(stack, '/api/v1/overview'))['outcomes'];
        expect(outcomes).toMatchObject({ last24h: { blocked: 5, alerted: 2, forwarded: 2, cached: 1 } });
      },
      { timeout: 30_000, interval: 200 },
    );
  }, 60_000);
});

describe('GET /api/v1/config', () => {
  test('the effective configuration with tokens, sink URLs, headers, read secrets and URL credentials masked', async () => {
    const dir = stacks.tempDir('poolsink-dash-');
    const TOKEN = 'dashboard-admin-token-0123456789';
    const HMAC = 'hmac-secret-from-a-file-0123456789';
    writeFileSync(join(dir, 'hook.secret'), `${HMAC}\n`);
    const stack = await start(
      {
        admin: { listen: '127.0.0.1:0', token: TOKEN },
        notify: [
          {
            name: 'hook',
            type: 'webhook',
            events: ['incident.opened'],
            url: 'http://hookuser:hookpass@127.0.0.1:9/hook?key=url-key-0123',
            secretFile: 'hook.secret',
            headers: { Authorization: 'Bearer header-secret-0123' },
          },
        ],
      },
      dir,
    );
    const body = await getJson(stack, '/api/v1/config');
    const text = JSON.stringify(body);
    for (const secret of [TOKEN, HMAC, 'hookpass', 'url-key-0123', 'header-secret-0123'])
      expect(text).not.toContain(secret);
    expect(body['masked']).toEqual(
      expect.arrayContaining(['admin.token', 'notify[0].url', 'notify[0].headers.Authorization', 'notify[0].secret']),
    );
    expect(body['config']).toMatchObject({
      admin: { token: '***', metricsAuth: true },
      upstreams: [stacks.upstreamOf(stack).address],
      notify: [{ name: 'hook', type: 'webhook', url: '***', headers: { Authorization: '***' }, secret: '***' }],
      blocklists: [
        expect.objectContaining({ name: 'pools', mode: 'block' }),
        expect.objectContaining({ name: 'trial' }),
      ],
      database: { retentionDays: 90 },
    });
    expect((await stack.api('/api/v1/config', { token: null })).status).toBe(401);
  }, 60_000);
});

describe('GET /api/v1/hosts pages and exports', () => {
  test('keyset pages through every host, most recent first; csv and ndjson export every host', async () => {
    const stack = await start();
    const clients = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
    for (const client of clients) await queriesFrom(stack, client, 'a.pool.example', 1);
    stack.poolsink.eventWriter.flush();

    const seen: string[] = [];
    let cursor: unknown;
    let pages = 0;
    do {
      const query: string = cursor === undefined ? '' : `&cursor=${String(cursor)}`;
      const page = await getJson(stack, `/api/v1/hosts?limit=2${query}`);
      const hosts = Array.isArray(page['hosts']) ? page['hosts'].filter(isRecord) : [];
      expect(hosts.length).toBeLessThanOrEqual(2);
      seen.push(...hosts.map((h) => String(h['clientIp'])));
      cursor = page['nextCursor'];
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect([...seen].sort()).toEqual(clients);
    const all = await getJson(stack, '/api/v1/hosts');
    expect(Array.isArray(all['hosts']) && all['hosts'].map((h: unknown) => (isRecord(h) ? h['clientIp'] : ''))).toEqual(
      seen,
    );
    expect(all['nextCursor']).toBeNull();

    const csv = await stack.api('/api/v1/hosts?format=csv');
    expect(csv.status).toBe(200);
    const lines = String(csv.body).trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'clientIp,firstSeen,lastSeen,blockedCount,distinctDomains,topDomains,incidentId,host_name,instance_id',
    );
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(seen);
    expect(lines[1]).toContain(',1,1,a.pool.example:1,');

    // Read as text: the stack's api() would parse application/x-ndjson as one JSON document.
    const ndjson = await fetch(
      `http://127.0.0.1:${stack.poolsink.admin.address.port}/api/v1/hosts?format=ndjson&since=1h`,
      {
        headers: { authorization: `Bearer ${stack.poolsink.adminToken}` },
      },
    );
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers.get('content-type')).toContain('application/x-ndjson');
    const rows = (await ndjson.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((row) => row.clientIp)).toEqual(seen);

    const first = await getJson(stack, '/api/v1/hosts?limit=2');
    const withCursor = await stack.api(`/api/v1/hosts?format=csv&cursor=${String(first['nextCursor'])}`);
    expect(withCursor.status).toBe(400);
    expect(withCursor.body).toMatchObject({ error: { param: 'cursor' } });
    const forged = Buffer.from(JSON.stringify([1, 'not-an-ip'])).toString('base64url');
    const bad = await stack.api(`/api/v1/hosts?cursor=${forged}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'ERR_INVALID', param: 'cursor' } });
  }, 60_000);
});
