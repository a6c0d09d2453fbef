import { connect, createServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { errorMessage, isPoolsinkError } from '../../src/errors.js';
import { createListFetcher, type FetchOptions, type FetchResult, type ListFetcher } from '../../src/blocklist/fetch.js';
import { startListServer, type ListServer } from '../helpers/list-server.js';
import { until } from '../helpers/wait.js';

const LIST = 'pool.example\nxmr.example.net\n';
const LAST_MODIFIED = 'Wed, 21 Oct 2026 07:28:00 GMT';

let server: ListServer;
let fetcher: ListFetcher;

beforeEach(async () => {
  server = await startListServer();
});

afterEach(async () => {
  await fetcher.close();
  await server.close();
});

function useFetcher(options: FetchOptions = {}): ListFetcher {
  fetcher = createListFetcher({ allowPrivateSources: ['127.0.0.0/8'], ...options });
  return fetcher;
}

async function fetchError(promise: Promise<FetchResult>): Promise<string> {
  try {
    await promise;
  } catch (err: unknown) {
    expect(isPoolsinkError(err, 'ERR_LIST_FETCH')).toBe(true);
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('the fetch did not fail');
}

/** A loopback port nothing listens on (bound, then closed): connections to it are refused. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function bodyText(result: FetchResult): string {
  if (result.kind !== 'content') throw new Error(`expected content, got ${result.kind}`);
  return result.body.toString('utf8');
}

describe('createListFetcher', () => {
  test('200: the body and its validators; gzip is asked for', async () => {
    server.set('/list.txt', { body: LIST, etag: '"v1"', lastModified: LAST_MODIFIED });
    const result = await useFetcher().fetch(server.url('/list.txt'), {});
    expect(bodyText(result)).toBe(LIST);
    expect(result).toMatchObject({ validators: { etag: '"v1"', lastModified: LAST_MODIFIED } });
    const [request] = server.requestsTo('/list.txt');
    expect(request?.headers['accept-encoding']).toBe('gzip');
    expect(request?.headers['if-none-match']).toBeUndefined();
  });

  test('304 with ETag: If-None-Match is sent and nothing is read', async () => {
    server.set('/list.txt', { body: LIST, etag: '"v1"' });
    const result = await useFetcher().fetch(server.url('/list.txt'), { etag: '"v1"' });
    expect(result).toEqual({ kind: 'not-modified' });
    expect(server.requestsTo('/list.txt')[0]?.headers['if-none-match']).toBe('"v1"');
  });

  test('304 with Last-Modified: If-Modified-Since is sent', async () => {
    server.set('/list.txt', { body: LIST, lastModified: LAST_MODIFIED });
    const result = await useFetcher().fetch(server.url('/list.txt'), { lastModified: LAST_MODIFIED });
    expect(result).toEqual({ kind: 'not-modified' });
    expect(server.requestsTo('/list.txt')[0]?.headers['if-modified-since']).toBe(LAST_MODIFIED);
  });

  test('a changed ETag gets the new body', async () => {
    server.set('/list.txt', { body: 'new.example\n', etag: '"v2"' });
    const result = await useFetcher().fetch(server.url('/list.txt'), { etag: '"v1"' });
    expect(bodyText(result)).toBe('new.example\n');
  });

  test('a 304 to an unconditional request is an error', async () => {
    server.set('/list.txt', { status: 304 });
    expect(await fetchError(useFetcher().fetch(server.url('/list.txt'), {}))).toContain('304');
  });

  test.each([500, 404, 403, 204])('HTTP %i is an error naming the status and the URL', async (status) => {
    server.set('/list.txt', { status, body: 'oops' });
    const message = await fetchError(useFetcher().fetch(server.url('/list.txt'), {}));
    expect(message).toContain(`HTTP ${status}`);
    expect(message).toContain(server.url('/list.txt'));
  });

  test('a body that stalls fails after bodyTimeoutMs', async () => {
    server.set('/slow.txt', { body: LIST.repeat(100), stallAfterBytes: 20 });
    const started = performance.now();
    const message = await fetchError(useFetcher({ bodyTimeoutMs: 300 }).fetch(server.url('/slow.txt'), {}));
    expect(message).toContain('body stalled for 300 ms');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test('headers that never come fail after headersTimeoutMs', async () => {
    server.set('/slow.txt', { body: LIST, headersDelayMs: 10_000 });
    expect(await fetchError(useFetcher({ headersTimeoutMs: 200 }).fetch(server.url('/slow.txt'), {}))).toContain(
      'no response headers within 200 ms',
    );
  });

  test('a body that trickles forever fails after totalTimeoutMs', async () => {
    server.set('/trickle.txt', { body: LIST.repeat(1000), trickleBytes: 10, trickleMs: 20 });
    expect(
      await fetchError(useFetcher({ totalTimeoutMs: 400, bodyTimeoutMs: 5000 }).fetch(server.url('/trickle.txt'), {})),
    ).toContain('not complete within 400 ms');
  });

  test('an oversized body with Content-Length is refused before reading', async () => {
    server.set('/big.txt', { body: 'a.example\n'.repeat(2000) });
    expect(await fetchError(useFetcher({ maxBytes: 10_000 }).fetch(server.url('/big.txt'), {}))).toMatch(/larger than/);
  });

  test('an oversized body without Content-Length is cut off while streaming', async () => {
    server.set('/big.txt', { body: 'a.example\n'.repeat(5000), trickleBytes: 4096, trickleMs: 1 });
    expect(await fetchError(useFetcher({ maxBytes: 10_000 }).fetch(server.url('/big.txt'), {}))).toContain(
      'body larger than',
    );
  });

  test('a gzip body is inflated', async () => {
    server.set('/list.txt', { body: LIST, gzip: true });
    expect(bodyText(await useFetcher().fetch(server.url('/list.txt'), {}))).toBe(LIST);
  });

  test('a .gz file served without Content-Encoding is inflated too', async () => {
    server.set('/list.txt.gz', { body: gzipSync(LIST), headers: { 'content-type': 'application/gzip' } });
    expect(bodyText(await useFetcher().fetch(server.url('/list.txt.gz'), {}))).toBe(LIST);
  });

  test('a zip bomb is stopped at maxBytes of inflated output', async () => {
    server.set('/bomb.txt', { body: Buffer.alloc(20 * 1024 * 1024, 0x61), gzip: true });
    const message = await fetchError(useFetcher({ maxBytes: 1024 * 1024 }).fetch(server.url('/bomb.txt'), {}));
    expect(message).toContain('once inflated');
  });

  test('a corrupt gzip body is an error', async () => {
    server.set('/bad.txt', {
      body: Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7]),
      headers: { 'content-encoding': 'gzip' },
    });
    expect(await fetchError(useFetcher().fetch(server.url('/bad.txt'), {}))).toContain('could not be inflated');
  });

  test('an encoding that was not asked for is an error', async () => {
    server.set('/list.txt', { body: LIST, headers: { 'content-encoding': 'br' } });
    expect(await fetchError(useFetcher().fetch(server.url('/list.txt'), {}))).toContain(
      'unsupported content-encoding "br"',
    );
  });

  test('redirects are followed up to maxRedirects', async () => {
    server.set('/a', { redirectTo: '/b' });
    server.set('/b', { redirectTo: '/list.txt' });
    server.set('/list.txt', { body: LIST });
    expect(bodyText(await useFetcher({ maxRedirects: 2 }).fetch(server.url('/a'), {}))).toBe(LIST);
  });

  test('one redirect too many is an error', async () => {
    server.set('/a', { redirectTo: '/b' });
    server.set('/b', { redirectTo: '/list.txt' });
    server.set('/list.txt', { body: LIST });
    expect(await fetchError(useFetcher({ maxRedirects: 1 }).fetch(server.url('/a'), {}))).toContain('HTTP 302');
  });

  test('a redirect loop ends', async () => {
    server.set('/loop', { redirectTo: '/loop' });
    expect(await fetchError(useFetcher({ maxRedirects: 3 }).fetch(server.url('/loop'), {}))).toContain('redirects');
    expect(server.requestsTo('/loop').length).toBeLessThanOrEqual(4);
  });

  test('a refused connection is an error', async () => {
    const closed = await startListServer();
    const url = closed.url('/list.txt');
    await closed.close();
    expect(await fetchError(useFetcher().fetch(url, {}))).toContain(url);
  });

  test('a connection refused on every address of a name gives the reason for each address', async () => {
    // /etc/hosts maps localhost to 127.0.0.1 only here, so the two addresses come from a lookup
    // of our own: net.connect then tries both (autoSelectFamily) and fails with an AggregateError
    // whose own message is empty, as undici's does for a name with an A and an AAAA record.
    const port = await closedPort();
    const err = await new Promise<unknown>((resolve) => {
      const socket = connect({
        host: 'two-addresses.test',
        port,
        autoSelectFamily: true,
        lookup: (_host, _options, callback) =>
          callback(null, [
            { address: '127.0.0.1', family: 4 },
            { address: '::1', family: 6 },
          ]),
      });
      socket.on('error', resolve);
    });
    expect(err).toBeInstanceOf(AggregateError);
    expect(err instanceof Error && err.message).toBe('');
    expect(errorMessage(err)).toBe(`connect ECONNREFUSED 127.0.0.1:${port}, connect ECONNREFUSED ::1:${port}`);
    // And through the fetcher, the reason follows the URL.
    const url = `http://localhost:${port}/miners.txt`;
    expect(await fetchError(useFetcher().fetch(url, {}))).toMatch(/miners\.txt: .*ECONNREFUSED/);
  });

  test.each(['ftp://127.0.0.1/list.txt', 'file:///etc/hosts', 'not a url'])('refuses %s', async (url) => {
    await fetchError(useFetcher().fetch(url, {}));
  });

  test('close() aborts a fetch in progress', async () => {
    server.set('/slow.txt', { body: LIST, stallAfterBytes: 5 });
    const pending = useFetcher({ bodyTimeoutMs: 60_000 }).fetch(server.url('/slow.txt'), {});
    const failed = fetchError(pending);
    await until(() => server.requestsTo('/slow.txt').length === 1); // the request is in flight
    await fetcher.close();
    await failed;
  });

  test.each([
    ['connectTimeoutMs', { connectTimeoutMs: 0 }],
    ['maxBytes', { maxBytes: 1.5 }],
    ['maxRedirects', { maxRedirects: -1 }],
  ])('rejects a bad %s at creation', (name, options) => {
    fetcher = createListFetcher();
    expect(() => createListFetcher(options)).toThrow(name);
  });
});
