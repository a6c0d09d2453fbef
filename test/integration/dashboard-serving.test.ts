/**
 * The dashboard's static files on the admin server: / and /assets/* without the token, strict
 * headers (CSP without inline script or style), long cache for hashed assets, the Host check still
 * first, nothing else opened up, and no path that reaches past the in-memory map built at start.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DASHBOARD_CSP, loadStaticAssets } from '../../src/admin/static-assets.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';

let upstream: LocalUpstream;
let stack: Stack;

beforeAll(async () => {
  upstream = await startLocalUpstream();
  stack = await startStack({ upstreams: [upstream.address] });
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: the path is sent exactly as given (no URL normalization of `..`). */
function raw(path: string, init: { method?: string; host?: string; token?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: init.host ?? '127.0.0.1' };
    if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
    const req = httpRequest(
      { host: '127.0.0.1', port: stack.poolsink.admin.address.port, path, method: init.method ?? 'GET', headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function assetPaths(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
}

describe('the dashboard on the admin server', () => {
  test('index at / without the token, revalidated, strict headers, no inline script or style', async () => {
    const page = await raw('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).not.toMatch(/<style|style=|<script>|<script(?![^>]*\ssrc=)/);
    expect((await raw('/index.html')).body).toBe(page.body);
    const head = await raw('/', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  test('hashed assets: immutable, typed, the same headers', async () => {
    const paths = assetPaths((await raw('/')).body);
    expect(paths.some((p) => /^\/assets\/dashboard-[A-Z0-9]+\.js$/.test(p))).toBe(true);
    expect(paths.some((p) => /^\/assets\/dashboard-[A-Z0-9]+\.css$/.test(p))).toBe(true);
    for (const path of paths) {
      const asset = await raw(path);
      expect(asset.status).toBe(200);
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(asset.headers['content-type']).toMatch(/^text\/(javascript|css); charset=utf-8$/);
      expect(asset.headers['content-security-policy']).toBe(DASHBOARD_CSP);
      expect(asset.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  test('the Host check comes first; other methods and the API still need the token', async () => {
    expect((await raw('/', { host: 'rebound.attacker.example' })).status).toBe(421);
    expect((await raw('/', { method: 'POST' })).status).toBe(401);
    expect((await raw('/api/v1/stats')).status).toBe(401);
    expect((await raw('/api/v1/stats', { token: stack.poolsink.adminToken })).status).toBe(200);
  });

  test.each([
    '/assets/../package.json',
    '/assets/..%2F..%2Fpackage.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/assets/',
    '/assets',
    '//etc/passwd',
    '/assets/dashboard.js.map',
    '/package.json',
    '/index.html/',
  ])('%s is not a file it serves', async (path) => {
    const anonymous = await raw(path);
    expect(anonymous.status).toBe(401);
    const withToken = await raw(path, { token: stack.poolsink.adminToken });
    expect(withToken.status).toBe(404);
    expect(withToken.body).not.toContain('"name": "poolsink"');
  });
});

describe('loading the built files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'poolsink-static-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('only index.html and plain names under assets/, no symlinks, nothing unbuilt', () => {
    expect(loadStaticAssets(join(dir, 'missing'))).toBeUndefined();
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    mkdirSync(join(dir, 'assets', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'assets', 'app-ABC.js'), 'export {};');
    writeFileSync(join(dir, 'assets', 'sub', 'deep.js'), 'x');
    writeFileSync(join(dir, 'assets', '.hidden.js'), 'x');
    writeFileSync(join(dir, 'assets', 'app-ABC.js.map'), '{}');
    writeFileSync(join(dir, 'secret.txt'), 'x');
    symlinkSync(join(dir, 'secret.txt'), join(dir, 'assets', 'link-X.js'));
    const assets = loadStaticAssets(dir);
    expect([...(assets?.keys() ?? [])].sort()).toEqual(['/', '/assets/app-ABC.js', '/index.html']);
  });
});
