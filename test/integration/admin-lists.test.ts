/**
 * The list management routes over real HTTP, against an in-memory ListManagement (the real list
 * manager is not written yet): it rebuilds the matcher like the real one, so /check shows changes
 * at once. Also the JSON body rules: content type, size cap, shape.
 */
import { zeroCounters } from '../../src/dns/resolver-counters.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import type { AdminDeps } from '../../src/admin/routes.js';
import type { AllowlistEntry, ListInfo, ListManagement, RefreshResult } from '../../src/blocklist/list-api.js';
import { createMatcher, type DomainMatcher } from '../../src/blocklist/matcher.js';
import type { ResolverCounters } from '../../src/dns/resolver-counters.js';
import { PoolsinkError } from '../../src/errors.js';
import { formatHostPort } from '../../src/net/address.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { asyncEventQueries, createEventQueries } from '../../src/store/queries.js';
import type { EventWriter } from '../../src/store/types.js';

const TOKEN = 'lists-token-0123456789abc';
const log = pino({ level: 'silent' });
const NOW = Date.parse('2024-06-15T12:00:00Z');

interface FakeList {
  info: ListInfo;
  domains: string[];
}

interface MutableResolver {
  readonly counters: ResolverCounters;
  matcher: DomainMatcher;
  readonly pending: number;
}

/** ListManagement in memory: config lists and entries are read-only, runtime ones can change. */
function createFakeListManagement(resolver: MutableResolver): ListManagement & { readonly calls: string[] } {
  const calls: string[] = [];
  const lists = new Map<string, FakeList>();
  const allowed: AllowlistEntry[] = [{ domain: 'good.pool.example', origin: 'config' }];
  const base: Pick<
    ListInfo,
    'format' | 'mode' | 'refreshSec' | 'maxShrinkPercent' | 'resolveForIps' | 'skipped' | 'skippedByReason'
  > = {
    format: 'auto',
    mode: 'block',
    refreshSec: 86_400,
    maxShrinkPercent: 50,
    resolveForIps: false,
    skipped: 0,
    skippedByReason: {},
  };
  lists.set('pools', {
    info: {
      ...base,
      name: 'pools',
      source: '/etc/poolsink/pools.txt',
      origin: 'config',
      entries: 2,
      lastFetchMs: NOW - 60_000,
      lastChangeMs: NOW - 3_600_000,
      loadedFrom: 'source',
    },
    domains: ['pool.example', 'minexmr.test'],
  });

  function rebuild(): void {
    resolver.matcher = createMatcher(
      [...lists.values()].map((l) => ({ name: l.info.name, mode: l.info.mode, domains: l.domains, wildcards: [] })),
      allowed.map((a) => a.domain),
    );
  }
  function find(name: string): FakeList {
    const list = lists.get(name);
    if (list === undefined) throw new PoolsinkError('ERR_NOT_FOUND', `no list named ${name}`);
    return list;
  }
  function runtime(name: string): FakeList {
    const list = find(name);
    if (list.info.origin === 'config')
      throw new PoolsinkError('ERR_CONFLICT', `list ${name} comes from the configuration file`);
    return list;
  }
  rebuild();

  return {
    calls,
    lists: () => [...lists.values()].map((l) => l.info),
    async addList(definition) {
      calls.push(`add ${definition.name}`);
      if (lists.has(definition.name)) throw new PoolsinkError('ERR_CONFLICT', `list ${definition.name} exists`);
      if (definition.source.includes('unreachable'))
        throw new PoolsinkError('ERR_LIST_FETCH', `${definition.source}: connection refused`);
      const list: FakeList = {
        info: { ...base, ...definition, origin: 'runtime', entries: 1, lastFetchMs: NOW, lastChangeMs: NOW },
        domains: [`${definition.name}.example`],
      };
      lists.set(definition.name, list);
      rebuild();
      return list.info;
    },
    async updateList(name, patch) {
      calls.push(`update ${name} ${JSON.stringify(patch)}`);
      const list = runtime(name);
      list.info = { ...list.info, ...patch };
      rebuild();
      return list.info;
    },
    async removeList(name) {
      calls.push(`remove ${name}`);
      runtime(name);
      lists.delete(name);
      rebuild();
    },
    async refresh(name, options) {
      calls.push(`refresh ${name ?? '*'} force=${options.force}`);
      const targets = name === undefined ? [...lists.values()] : [find(name)];
      return targets.map(
        (l): RefreshResult => ({
          name: l.info.name,
          outcome: options.force ? 'updated' : 'rejected',
          entries: l.info.entries,
          previousEntries: l.info.entries,
        }),
      );
    },
    allowlist: () => [...allowed],
    async allow(domain) {
      calls.push(`allow ${domain}`);
      if (allowed.some((a) => a.domain === domain))
        throw new PoolsinkError('ERR_CONFLICT', `${domain} is already allowed`);
      const entry: AllowlistEntry = { domain, origin: 'runtime' };
      allowed.push(entry);
      rebuild();
      return entry;
    },
    async unallow(domain) {
      calls.push(`unallow ${domain}`);
      const index = allowed.findIndex((a) => a.domain === domain);
      const entry = allowed[index];
      if (entry === undefined) throw new PoolsinkError('ERR_NOT_FOUND', `${domain} is not in the allowlist`);
      if (entry.origin === 'config')
        throw new PoolsinkError('ERR_CONFLICT', `${domain} comes from the configuration file`);
      allowed.splice(index, 1);
      rebuild();
    },
  };
}

let dir: string;
let connection: StoreConnection;
let writer: EventWriter;
let server: AdminServer | undefined;
let base: string;
let manager: ReturnType<typeof createFakeListManagement>;

function deps(withLists: boolean): AdminDeps {
  const resolver: MutableResolver = {
    counters: {
      ...zeroCounters(),
    },
    matcher: createMatcher([], []),
    pending: 0,
  };
  manager = createFakeListManagement(resolver);
  return {
    resolver,
    cache: { size: 0 },
    upstream: {
      stats: { sent: 0, answered: 0, timeouts: 0, mismatched: 0, tcpRetries: 0, errors: 0 },
      health: () => [],
    },
    events: asyncEventQueries(createEventQueries(connection)),
    eventWriter: writer,
    health: () => ({ serving: true, listeners: [] }),
    clock: () => NOW,
    ...(withLists ? { lists: manager } : {}),
  };
}

async function start(withLists = true): Promise<void> {
  server = await startAdminServer({ listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, log, deps: deps(withLists) });
  base = `http://${formatHostPort(server.address)}`;
}

interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const response = await request(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

function errorOf(response: Response): { code?: unknown; param?: unknown; message?: unknown } {
  const body = response.body;
  if (
    typeof body === 'object' &&
    body !== null &&
    'error' in body &&
    typeof body.error === 'object' &&
    body.error !== null
  )
    return body.error;
  throw new Error(`not an error body: ${JSON.stringify(body)}`);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-admin-lists-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
  writer = createEventWriter({ connection, log });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  writer.close();
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lists', () => {
  test('GET /lists: state with times, age and origin', async () => {
    await start();
    const response = await call('GET', '/api/v1/lists');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      lists: [
        {
          name: 'pools',
          source: '/etc/poolsink/pools.txt',
          format: 'auto',
          mode: 'block',
          origin: 'config',
          refreshSec: 86_400,
          maxShrinkPercent: 50,
          resolveForIps: false,
          entries: 2,
          skipped: 0,
          skippedByReason: {},
          lastFetch: '2024-06-15T11:59:00.000Z',
          lastChange: '2024-06-15T11:00:00.000Z',
          ageSec: 3600,
          lastError: null,
          loadedFrom: 'source',
        },
      ],
    });
  });

  test('add, change, refresh and remove a runtime list; /check follows at once', async () => {
    await start();
    const added = await call('POST', '/api/v1/lists', {
      name: 'feed',
      source: 'https://lists.example/feed.txt',
      format: 'domains',
      mode: 'alert',
      refreshSec: 3600,
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      list: { name: 'feed', origin: 'runtime', mode: 'alert', format: 'domains', refreshSec: 3600 },
    });
    expect((await call('GET', '/api/v1/check?domain=x.feed.example')).body).toEqual({
      domain: 'x.feed.example',
      verdict: 'alert',
      list: 'feed',
      rule: 'feed.example',
    });

    const patched = await call('PATCH', '/api/v1/lists/feed', { mode: 'block', maxShrinkPercent: 10 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ list: { mode: 'block', maxShrinkPercent: 10 } });
    expect((await call('GET', '/api/v1/check?domain=x.feed.example')).body).toMatchObject({ verdict: 'block' });

    const refreshed = await call('POST', '/api/v1/lists/feed/refresh?force=true');
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual({ results: [{ name: 'feed', outcome: 'updated', entries: 1, previousEntries: 1 }] });
    const all = await call('POST', '/api/v1/lists/refresh');
    expect(all.body).toMatchObject({
      results: [
        { name: 'pools', outcome: 'rejected' },
        { name: 'feed', outcome: 'rejected' },
      ],
    });

    const removed = await call('DELETE', '/api/v1/lists/feed');
    expect(removed.status).toBe(204);
    expect(removed.body).toBeUndefined();
    expect((await call('GET', '/api/v1/check?domain=x.feed.example')).body).toMatchObject({ verdict: 'allow' });
    expect(manager.calls).toEqual([
      'add feed',
      'update feed {"mode":"block","maxShrinkPercent":10}',
      'refresh feed force=true',
      'refresh * force=false',
      'remove feed',
    ]);
  });

  test.each<[string, string, string, unknown, number, string]>([
    ['a duplicate name', 'POST', '/api/v1/lists', { name: 'pools', source: '/x' }, 409, 'ERR_CONFLICT'],
    ['a config list changed', 'PATCH', '/api/v1/lists/pools', { mode: 'alert' }, 409, 'ERR_CONFLICT'],
    ['a config list removed', 'DELETE', '/api/v1/lists/pools', undefined, 409, 'ERR_CONFLICT'],
    ['an unknown list changed', 'PATCH', '/api/v1/lists/nope', { mode: 'alert' }, 404, 'ERR_NOT_FOUND'],
    ['an unknown list removed', 'DELETE', '/api/v1/lists/nope', undefined, 404, 'ERR_NOT_FOUND'],
    ['an unknown list refreshed', 'POST', '/api/v1/lists/nope/refresh', undefined, 404, 'ERR_NOT_FOUND'],
    [
      'a source that cannot be fetched',
      'POST',
      '/api/v1/lists',
      { name: 'x', source: 'https://unreachable.example/' },
      502,
      'ERR_LIST_FETCH',
    ],
  ])('%s → %d', async (_label, method, path, body, status, code) => {
    await start();
    const response = await call(method, path, body);
    expect(response.status).toBe(status);
    expect(errorOf(response).code).toBe(code);
  });

  test.each<[string, string, string, unknown, string]>([
    ['no name', 'POST', '/api/v1/lists', { source: '/x' }, 'body.name'],
    ['no source', 'POST', '/api/v1/lists', { name: 'x' }, 'body.source'],
    ['a traversal name', 'POST', '/api/v1/lists', { name: '../../etc/passwd', source: '/x' }, 'body.name'],
    ['a name with a slash', 'POST', '/api/v1/lists', { name: 'a/b', source: '/x' }, 'body.name'],
    ['a numeric name', 'POST', '/api/v1/lists', { name: 42, source: '/x' }, 'body.name'],
    ['a multi-line source', 'POST', '/api/v1/lists', { name: 'x', source: '/x\n/y' }, 'body.source'],
    ['an unknown field', 'POST', '/api/v1/lists', { name: 'x', source: '/x', owner: 'me' }, 'body.owner'],
    ['a bad format', 'POST', '/api/v1/lists', { name: 'x', source: '/x', format: 'yaml' }, 'body.format'],
    ['a bad mode', 'POST', '/api/v1/lists', { name: 'x', source: '/x', mode: 'drop' }, 'body.mode'],
    ['a tiny refresh', 'POST', '/api/v1/lists', { name: 'x', source: '/x', refreshSec: 1 }, 'body.refreshSec'],
    [
      'a fractional shrink',
      'POST',
      '/api/v1/lists',
      { name: 'x', source: '/x', maxShrinkPercent: 1.5 },
      'body.maxShrinkPercent',
    ],
    ['an array', 'POST', '/api/v1/lists', [{ name: 'x', source: '/x' }], 'body'],
    ['a bare string', 'POST', '/api/v1/lists', '"x"', 'body'],
    ['invalid JSON', 'POST', '/api/v1/lists', '{"name": ', 'body'],
    ['an empty body', 'POST', '/api/v1/lists', '', 'body'],
    ['an empty patch', 'PATCH', '/api/v1/lists/feed', {}, 'body'],
    ['a patch renaming', 'PATCH', '/api/v1/lists/feed', { name: 'other' }, 'body.name'],
    ['a traversal path name', 'PATCH', '/api/v1/lists/..%2F..%2Fetc', { mode: 'alert' }, 'name'],
    ['a traversal refresh', 'POST', '/api/v1/lists/..%2Fx/refresh', undefined, 'name'],
    ['force=yes', 'POST', '/api/v1/lists/refresh?force=yes', undefined, 'force'],
    ['an allowlist IP', 'POST', '/api/v1/allowlist', { domain: '10.0.0.1' }, 'body.domain'],
    ['an allowlist SQL', 'POST', '/api/v1/allowlist', { domain: "x'); DROP TABLE allowlist; --" }, 'body.domain'],
    ['an allowlist extra field', 'POST', '/api/v1/allowlist', { domain: 'a.example', why: 'x' }, 'body.why'],
    ['an unallow without a name', 'DELETE', '/api/v1/allowlist', {}, 'body.domain'],
  ])('%s → 400 naming %s; the manager is not called', async (_label, method, path, body, param) => {
    await start();
    const response = await call(method, path, body);
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(errorOf(response)).toMatchObject({ code: 'ERR_INVALID', param });
    expect(manager.calls).toEqual([]);
  });
});

describe('allowlist', () => {
  test('add and remove take effect at once; config entries are read-only', async () => {
    await start();
    expect((await call('GET', '/api/v1/check?domain=x.pool.example')).body).toMatchObject({ verdict: 'block' });
    const added = await call('POST', '/api/v1/allowlist', { domain: 'X.Pool.Example.' });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ domain: 'x.pool.example', origin: 'runtime' });
    expect((await call('GET', '/api/v1/check?domain=a.x.pool.example')).body).toEqual({
      domain: 'a.x.pool.example',
      verdict: 'allowlisted',
      rule: 'x.pool.example',
    });
    expect((await call('GET', '/api/v1/allowlist')).body).toEqual({
      entries: [
        { domain: 'good.pool.example', origin: 'config' },
        { domain: 'x.pool.example', origin: 'runtime' },
      ],
    });
    expect((await call('POST', '/api/v1/allowlist', { domain: 'x.pool.example' })).status).toBe(409);
    expect((await call('DELETE', '/api/v1/allowlist?domain=good.pool.example')).status).toBe(409);
    expect((await call('DELETE', '/api/v1/allowlist', { domain: 'x.pool.example' })).status).toBe(204);
    expect((await call('DELETE', '/api/v1/allowlist?domain=x.pool.example')).status).toBe(404);
    expect((await call('GET', '/api/v1/check?domain=a.x.pool.example')).body).toMatchObject({ verdict: 'block' });
  });
});

describe('request bodies', () => {
  test('a body that is not application/json is 415', async () => {
    await start();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', '']) {
      const response = await call('POST', '/api/v1/allowlist', '{"domain":"a.example"}', { 'content-type': type });
      expect(response.status, type).toBe(415);
      expect(errorOf(response).code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
    }
    const charset = await call(
      'POST',
      '/api/v1/allowlist',
      { domain: 'a.example' },
      { 'content-type': 'Application/JSON; charset=utf-8' },
    );
    expect(charset.status).toBe(201);
  });

  test('a body over 64 KiB is 413, declared or streamed; the server stays up', async () => {
    await start();
    const big = JSON.stringify({ domain: 'a.example', pad: 'x'.repeat(70_000) });
    const declared = await call('POST', '/api/v1/allowlist', big);
    expect(declared.status).toBe(413);
    expect(errorOf(declared).code).toBe('ERR_BODY_TOO_LARGE');
    const chunks = Readable.from(
      (function* () {
        for (let i = 0; i < 20; i++) yield Buffer.alloc(8192, 0x20);
      })(),
    );
    const streamed = await request(`${base}/api/v1/allowlist`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: chunks,
    });
    expect(streamed.statusCode).toBe(413);
    await streamed.body.text();
    expect((await call('GET', '/api/v1/allowlist')).status).toBe(200);
    expect(manager.calls).toEqual([]);
  });

  test('a body that is not UTF-8 is 400', async () => {
    await start();
    const response = await request(`${base}/api/v1/allowlist`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    });
    expect(response.statusCode).toBe(400);
    expect(await response.body.json()).toMatchObject({ error: { code: 'ERR_INVALID', param: 'body' } });
  });
});

test('without a list manager the list routes answer 503; /check still works', async () => {
  await start(false);
  const routes: [string, string][] = [
    ['GET', '/api/v1/lists'],
    ['POST', '/api/v1/lists/refresh'],
    ['GET', '/api/v1/allowlist'],
  ];
  for (const [method, path] of routes) {
    const response = await call(method, path);
    expect(response.status).toBe(503);
    expect(errorOf(response)).toEqual({ code: 'ERR_UNAVAILABLE', message: 'list management is not running' });
  }
  expect((await call('GET', '/api/v1/check?domain=pool.example')).body).toMatchObject({
    verdict: 'block',
    list: 'pools',
  });
});
