/**
 * The admin server's own behaviour: OpenAPI completeness, errors mapped by the status table (no
 * stack traces, details in the log), failures during exports, timeouts, the token across
 * restarts, listen errors and shutdown.
 */
import { statSync } from 'node:fs';
import { connect, createServer as createTcpServer, type Server } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { resolveAdminToken } from '../../src/admin/auth.js';
import { HTTP_STATUS } from '../../src/admin/http-errors.js';
import { createRoutes, type AdminDeps } from '../../src/admin/routes.js';
import { startAdminServer, type AdminLimits, type AdminServer } from '../../src/admin/server.js';
import { createMatcher } from '../../src/blocklist/matcher.js';
import { ERROR_CODES, PoolsinkError, isPoolsinkError } from '../../src/errors.js';
import { formatHostPort } from '../../src/net/address.js';
import type { EventQueries, StoredEvent } from '../../src/store/types.js';
import { useAdminStore } from '../helpers/admin-store.js';
import { storedEvent } from '../helpers/block-events.js';

const TOKEN = 'server-token-0123456789abcd';

const store = useAdminStore('poolsink-admin-server-');
const servers: AdminServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function deps(events: Partial<EventQueries> = {}): AdminDeps {
  return store.deps({
    matcher: createMatcher([{ name: 'pools', domains: ['pool.example'], wildcards: [] }], []),
    events,
  });
}

async function start(
  options: { deps?: AdminDeps; token?: string; limits?: Partial<AdminLimits> } = {},
): Promise<string> {
  const server = await startAdminServer({
    listen: { host: '127.0.0.1', port: 0 },
    token: options.token ?? TOKEN,
    log: store.logged.log,
    deps: options.deps ?? deps(),
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
  });
  servers.push(server);
  return `http://${formatHostPort(server.address)}`;
}

async function get(base: string, path: string, token = TOKEN): Promise<{ status: number; text: string }> {
  const response = await request(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, text: await response.body.text() };
}

/** Row `id` of an export, newest first, each with its own name. */
function exportedEvent(id: number): StoredEvent {
  return storedEvent(id, 1_700_000_000_000 - id, { clientPort: 1, qname: `h${id}.pool.example` });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

describe('OpenAPI document', () => {
  test('describes exactly the routes of the router, their path and query parameters, and their auth', async () => {
    const base = await start();
    const response = await get(base, '/api/v1/openapi.json');
    expect(response.status).toBe(200);
    const doc: unknown = JSON.parse(response.text);
    if (!isRecord(doc) || !isRecord(doc['paths'])) throw new Error('no paths');
    expect(doc['openapi']).toBe('3.1.0');
    expect(doc['security']).toEqual([{ bearerAuth: [] }]);
    expect(doc).toMatchObject({ components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } } });
    const paths = doc['paths'];

    const routes = createRoutes(deps(), { metricsAuth: true });
    const documented = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(isRecord(ops) ? ops : {}).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());

    for (const route of routes) {
      const pathItem = paths[route.path];
      const operation = isRecord(pathItem) ? pathItem[route.method.toLowerCase()] : undefined;
      if (!isRecord(operation)) throw new Error(`${route.method} ${route.path} is not documented`);
      const parameters = Array.isArray(operation['parameters']) ? operation['parameters'].filter(isRecord) : [];
      const templateParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const pathParams = parameters.filter((p) => p['in'] === 'path').map((p) => p['name']);
      expect(pathParams, `${route.method} ${route.path}`).toEqual(templateParams);
      expect(parameters.every((p) => p['in'] === 'path' || p['in'] === 'query')).toBe(true);
      const responses = operation['responses'];
      if (!isRecord(responses)) throw new Error('no responses');
      if (route.auth === 'none') expect(operation['security']).toEqual([]);
      else expect(Object.keys(responses), `${route.method} ${route.path}`).toContain('401');
      expect(typeof operation['operationId']).toBe('string');
    }
    const ids = routes.map((r) => r.doc.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('every $ref resolves', async () => {
    const base = await start();
    const doc: unknown = JSON.parse((await get(base, '/api/v1/openapi.json')).text);
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      let node: unknown = doc;
      for (const part of ref.split('/')) node = isRecord(node) ? node[part] : undefined;
      expect(node, ref).toBeDefined();
    }
  });
});

describe('errors', () => {
  test('the status table covers every catalog code', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(HTTP_STATUS, code).toHaveProperty(code);
  });

  test('an unexpected exception is a 500 with a generic message; the detail goes to the log', async () => {
    const base = await start({
      deps: deps({
        stats() {
          throw new Error('SQLITE_IOERR at /var/lib/secret/path.db');
        },
      }),
    });
    const response = await get(base, '/api/v1/stats');
    expect(response.status).toBe(500);
    expect(JSON.parse(response.text)).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    expect(response.text).not.toContain('secret');
    const logged = store.logged.text();
    expect(logged).toContain('SQLITE_IOERR at /var/lib/secret/path.db');
    expect(logged).toContain('admin request failed unexpectedly');
  });

  test('catalog errors map by the table: 503 keeps its message, 500 shows only the code description', async () => {
    const base = await start({
      deps: deps({
        hostsPage() {
          throw new PoolsinkError('ERR_STORE_WRITE', 'database is locked');
        },
        stats() {
          throw new PoolsinkError('ERR_STORE_CORRUPT', 'database /secret/x.db is corrupt');
        },
      }),
    });
    const busy = await get(base, '/api/v1/hosts');
    expect(busy.status).toBe(503);
    expect(JSON.parse(busy.text)).toEqual({ error: { code: 'ERR_STORE_WRITE', message: 'database is locked' } });
    const corrupt = await get(base, '/api/v1/stats');
    expect(corrupt.status).toBe(500);
    expect(JSON.parse(corrupt.text)).toEqual({
      error: { code: 'ERR_STORE_CORRUPT', message: ERROR_CODES.ERR_STORE_CORRUPT },
    });
  });

  test('an export whose store fails at once is a JSON error; one failing mid-stream is cut short', async () => {
    let failAfter = 0;
    const base = await start({
      deps: deps({
        *iterateEvents() {
          for (let id = 1; id <= failAfter; id++) yield exportedEvent(id);
          throw new PoolsinkError('ERR_STORE_WRITE', 'disk I/O error');
        },
      }),
    });
    const atOnce = await get(base, '/api/v1/events?format=csv');
    expect(atOnce.status).toBe(503);
    expect(JSON.parse(atOnce.text)).toMatchObject({ error: { code: 'ERR_STORE_WRITE' } });

    failAfter = 5000;
    const response = await request(`${base}/api/v1/events?format=ndjson`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(200);
    await expect(response.body.text()).rejects.toThrow();
    expect(store.logged.text()).toContain('admin export failed mid-stream');
    expect((await get(base, '/healthz')).status).toBe(200);
  });
});

describe('export backpressure', () => {
  test('a reader that stops reading stops the export; one that leaves releases the store iterator', async () => {
    const total = 2_000_000;
    let pulled = 0;
    let released = false;
    const base = await start({
      deps: deps({
        *iterateEvents() {
          try {
            for (let id = 1; id <= total; id++) {
              pulled++;
              yield exportedEvent(id);
            }
          } finally {
            released = true;
          }
        },
      }),
    });
    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      `GET /api/v1/events?format=ndjson HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    );
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause();
    // Let the server fill the socket buffers, then check it has stopped pulling events. Backpressure
    // has no event of its own: a quiet 200 ms with no event pulled is the proof that it holds.
    await vi.waitFor(
      async () => {
        const before = pulled;
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(pulled).toBe(before);
      },
      { timeout: 10_000, interval: 0 },
    );
    expect(pulled).toBeLessThan(total / 4);
    expect(released).toBe(false);
    socket.destroy();
    await vi.waitFor(() => expect(released).toBe(true), { timeout: 5_000 });
    expect(pulled).toBeLessThan(total / 4);
  });
});

describe('connections', () => {
  test('a client that never finishes its headers is cut off', async () => {
    const base = await start({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const started = Date.now();
    const received = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  test('close() ends idle keep-alive connections at once', async () => {
    const base = await start();
    expect((await get(base, '/healthz')).status).toBe(200);
    const server = servers.pop();
    const started = Date.now();
    await server?.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('a port in use is ERR_LISTEN naming the address', async () => {
    const blocker: Server = createTcpServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      await expect(
        startAdminServer({ listen: { host: '127.0.0.1', port }, token: TOKEN, log: store.logged.log, deps: deps() }),
      ).rejects.toSatisfy(
        (err: unknown) => isPoolsinkError(err, 'ERR_LISTEN') && err.message.includes(`127.0.0.1:${port}`),
      );
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

test('the generated token file is 0600 and the same token works after a restart', async () => {
  const dataDir = join(store.dir, 'data');
  const first = resolveAdminToken({ dataDir, log: store.logged.log });
  let base = await start({ token: first });
  expect((await get(base, '/api/v1/stats', first)).status).toBe(200);
  await servers.pop()?.close();

  const second = resolveAdminToken({ dataDir, log: store.logged.log });
  expect(second).toBe(first);
  expect(statSync(join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
  base = await start({ token: second });
  expect((await get(base, '/api/v1/stats', second)).status).toBe(200);
  expect((await get(base, '/api/v1/stats')).status).toBe(401);
  expect(store.logged.text()).not.toContain(first);
});
