/**
 * Issue 11 #2: lists added over the API cannot make poolsink reach loopback, private or link-local
 * addresses (directly, by a name, or by a redirect), cannot tell closed ports from HTTP errors,
 * leave no verbatim copy of what a source returned, and read files only under lists.fileSourceDir.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createListFetcher, type FetchOptions, type ListFetcher } from '../../src/blocklist/fetch.js';
import { containedFilePath } from '../../src/blocklist/update.js';
import { isPoolsinkError } from '../../src/errors.js';
import { listSpec, startManager, type ManagerHarness } from '../helpers/list-manager.js';
import { startListServer, type ListServer } from '../helpers/list-server.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';

const LIST = 'pool.example\nxmr.example.net\n';

/** An HTTP server on every loopback address (dual-stack `::`) that counts TCP connections. */
interface CountingServer {
  readonly port: number;
  connections: number;
  close(): Promise<void>;
}

async function startCountingServer(): Promise<CountingServer> {
  const server: Server = createServer((_req, res) => res.end(LIST));
  const counting = {
    port: 0,
    connections: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  server.on('connection', () => counting.connections++);
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  const address = server.address();
  counting.port = typeof address === 'object' && address !== null ? address.port : 0;
  return counting;
}

let counting: CountingServer;
let server: ListServer;
let fetcher: ListFetcher | undefined;
let harness: ManagerHarness | undefined;
let stack: Stack | undefined;
let upstream: LocalUpstream | undefined;

beforeEach(async () => {
  counting = await startCountingServer();
  server = await startListServer();
});

afterEach(async () => {
  await fetcher?.close();
  await harness?.close();
  await stack?.close();
  await upstream?.close();
  fetcher = harness = stack = upstream = undefined;
  await server.close();
  await counting.close();
});

function useFetcher(options: FetchOptions = {}): ListFetcher {
  fetcher = createListFetcher({ connectTimeoutMs: 2000, headersTimeoutMs: 2000, ...options });
  return fetcher;
}

async function fetchFailure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err: unknown) {
    expect(isPoolsinkError(err, 'ERR_LIST_FETCH')).toBe(true);
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('the fetch did not fail');
}

describe('destinations of URL lists from the API', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['localhost', 'loopback'], // a name: checked on the address it resolves to
    ['[::1]', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback (IPv4 in IPv6)'],
    ['0.0.0.0', 'unspecified'],
    ['2130706433', 'loopback'], // 127.0.0.1 as one number
  ])('http://%s is refused (%s) without a connection', async (host, range) => {
    const message = await fetchFailure(useFetcher().fetch(`http://${host}:${counting.port}/list.txt`, {}));
    expect(message).toContain(`refused: `);
    expect(message).toContain(`${range} address`);
    expect(counting.connections).toBe(0);
  });

  test.each([
    ['169.254.169.254', 'link-local'],
    ['10.0.0.1', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['[fd00::1]', 'unique local'],
  ])('http://%s is refused (%s) before any connection attempt', async (host, range) => {
    // No connect timeout: the refusal comes before a socket exists.
    const message = await fetchFailure(useFetcher({ connectTimeoutMs: 60_000 }).fetch(`http://${host}/latest`, {}));
    expect(message).toContain(`${range} address`);
  });

  test('allowPrivateSources lets a CIDR or a hostname through', async () => {
    const viaCidr = useFetcher({ allowPrivateSources: ['127.0.0.0/8'] });
    const result = await viaCidr.fetch(`http://127.0.0.1:${counting.port}/list.txt`, {});
    expect(result.kind).toBe('content');
    await viaCidr.close();
    const viaHost = useFetcher({ allowPrivateSources: ['localhost'] });
    expect((await viaHost.fetch(`http://localhost:${counting.port}/list.txt`, {})).kind).toBe('content');
    // The hostname exception is for that name only: its address by another name is still refused.
    expect(await fetchFailure(viaHost.fetch(`http://127.0.0.1:${counting.port}/list.txt`, {}))).toContain('loopback');
  });

  test('a redirect from an allowed source to a private address is refused, and not followed', async () => {
    server.set('/a', { redirectTo: server.url('/secret') });
    server.set('/secret', { body: LIST });
    const allowed = `http://localhost:${server.port}/a`;
    const message = await fetchFailure(useFetcher({ allowPrivateSources: ['localhost'] }).fetch(allowed, {}));
    expect(message).toContain('loopback');
    expect(server.requestsTo('/a')).toHaveLength(1);
    expect(server.requestsTo('/secret')).toHaveLength(0);
  });

  test('a source from the configuration file is trusted: loopback is fetched', async () => {
    const result = await useFetcher().fetch(`http://127.0.0.1:${counting.port}/list.txt`, {}, { trustedSource: true });
    expect(result.kind).toBe('content');
  });
});

describe('the list manager', () => {
  test('API callers get one generic message for refused, closed and failing sources; details are logged', async () => {
    harness = await startManager({ fetch: { allowPrivateSources: [] } });
    server.set('/500', { status: 500 });
    const messages: string[] = [];
    for (const source of [`http://127.0.0.1:${counting.port}/x`, 'http://127.0.0.1:1/x', server.url('/500')]) {
      try {
        await harness.manager.addList({ name: 'probe', source });
      } catch (err: unknown) {
        expect(isPoolsinkError(err, 'ERR_LIST_FETCH')).toBe(true);
        messages.push(err instanceof Error ? err.message : String(err));
      }
    }
    expect(messages).toEqual(Array(3).fill('list "probe" not loaded: list source could not be fetched'));
    expect(counting.connections).toBe(0);
    const logged = harness.logs.filter((l) => l.msg === 'list source from the API not fetched').map((l) => l['err']);
    expect(logged).toHaveLength(3);
    expect(String(logged[0])).toContain('loopback');
  });

  test('a configuration-file list on loopback is fetched', async () => {
    harness = await startManager({
      fetch: { allowPrivateSources: [] },
      lists: [listSpec('mirror', `http://127.0.0.1:${counting.port}/list.txt`)],
    });
    expect(await harness.manager.refresh('mirror', { force: false })).toMatchObject([{ outcome: 'updated' }]);
  });

  test('the last known good copy is the normalized list, not the body as served', async () => {
    server.set('/feed.txt', { body: '# token=s3cr3t\nPool.Example.  # note\n*.wild.example\n', etag: '"1"' });
    harness = await startManager({});
    await harness.manager.addList({ name: 'feed', source: server.url('/feed.txt'), format: 'domains' });
    const copy = readFileSync(join(harness.dataDir, 'lists', 'feed.txt'), 'utf8');
    expect(copy).not.toContain('s3cr3t');
    expect(copy).toBe('pool.example\n*.wild.example\n');
    // After a restart the copy blocks, and the source's 304 still applies to it.
    await harness.restart();
    expect(harness.verdict('x.pool.example')).toBe('block');
    expect(harness.verdict('a.wild.example')).toBe('block');
    expect(await harness.manager.refresh('feed', { force: false })).toMatchObject([{ outcome: 'unchanged' }]);
    expect(server.requestsTo('/feed.txt').at(-1)?.headers['if-none-match']).toBe('"1"');
  });
});

describe('file sources from the API', () => {
  test('only under lists.fileSourceDir: outside, through .. and through a symlink are refused', async () => {
    harness = await startManager({});
    const outside = join(harness.dir, '..', `outside-${process.pid}-${Date.now()}.txt`);
    writeFileSync(outside, LIST);
    const inside = join(harness.dir, 'lists');
    mkdirSync(inside);
    writeFileSync(join(inside, 'ok.txt'), LIST);
    symlinkSync(outside, join(inside, 'link.txt'));
    const refusal = async (path: string): Promise<string | undefined> => {
      try {
        await containedFilePath(path, inside);
        return undefined;
      } catch (err: unknown) {
        return isPoolsinkError(err) ? err.code : 'not a PoolsinkError';
      }
    };
    expect(await refusal(outside)).toBe('ERR_INVALID');
    expect(await refusal(join(inside, '..', '..', outside))).toBe('ERR_INVALID');
    expect(await refusal(join(inside, 'link.txt'))).toBe('ERR_INVALID');
    expect(await refusal(join(inside, 'ok.txt'))).toBeUndefined();
    expect(await refusal(inside)).toBe('ERR_INVALID');
    // No directory configured: none at all.
    await expect(containedFilePath(join(inside, 'ok.txt'), undefined)).rejects.toMatchObject({ code: 'ERR_INVALID' });
    // Through the manager (fileSourceDir is the harness directory): the same rules.
    await expect(harness.manager.addList({ name: 'esc', source: outside })).rejects.toMatchObject({
      code: 'ERR_INVALID',
    });
    await expect(harness.manager.addList({ name: 'dots', source: '../x.txt' })).rejects.toMatchObject({
      code: 'ERR_INVALID',
    });
    await expect(harness.manager.addList({ name: 'link', source: 'lists/link.txt' })).rejects.toMatchObject({
      code: 'ERR_INVALID',
    });
    expect(await harness.manager.addList({ name: 'ok', source: 'lists/ok.txt' })).toMatchObject({ entries: 2 });
  });
});

describe('the admin API (the probe of issue 11)', () => {
  test('POST /api/v1/lists at a loopback port answers a generic 502 and connects nowhere', async () => {
    upstream = await startLocalUpstream();
    stack = await startStack({ upstreams: [upstream.address] });
    const response = await stack.api('/api/v1/lists', {
      method: 'POST',
      body: { name: 'probe', source: `http://127.0.0.1:${counting.port}/` },
    });
    expect(response).toEqual({
      status: 502,
      body: { error: { code: 'ERR_LIST_FETCH', message: 'list "probe" not loaded: list source could not be fetched' } },
    });
    expect(counting.connections).toBe(0);
    const file = await stack.api('/api/v1/lists', { method: 'POST', body: { name: 'file', source: '/etc/hostname' } });
    expect(file.status).toBe(400);
  });
});
