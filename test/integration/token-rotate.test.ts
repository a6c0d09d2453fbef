/**
 * Admin token rotation: over the API (the old token is refused by the very next request), through
 * `poolsink token rotate` with and without a running server, and refused for an inline admin.token.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { runCli, startCliServer, type CliServer } from '../helpers/cli.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
let server: CliServer | undefined;
let upstream: LocalUpstream | undefined;
let dir: string | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  server = undefined;
  await upstream?.close();
  upstream = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function status(base: string, token: string): Promise<number> {
  const response = await request(`${base}/api/v1/lists`, { headers: { authorization: `Bearer ${token}` } });
  await response.body.dump();
  return response.statusCode;
}

describe('token rotation', () => {
  test('POST /api/v1/token/rotate: the old token gets 401 at once, the new one 200; the file holds it (0600)', async () => {
    stack = await startStack({ upstreams: ['127.0.0.1:9'] });
    const old = stack.poolsink.adminToken;
    const rotated = await stack.api('/api/v1/token/rotate', { method: 'POST' });
    expect(rotated.status).toBe(200);
    const body = rotated.body;
    if (typeof body !== 'object' || body === null || !('token' in body) || typeof body.token !== 'string')
      throw new Error('no token in the answer');
    const file = join(stack.dir, 'data', 'admin-token');
    expect(body).toEqual({ token: body.token, tokenFile: file });
    expect(body.token).not.toBe(old);
    expect(readFileSync(file, 'utf8').trim()).toBe(body.token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const base = `http://127.0.0.1:${stack.poolsink.admin.address.port}`;
    expect(await status(base, old)).toBe(401);
    expect(await status(base, body.token)).toBe(200);
  });

  test('an inline admin.token is refused over the API (409) and by the CLI, naming the procedure', async () => {
    const token = 'inline-token-inline-token';
    stack = await startStack({ upstreams: ['127.0.0.1:9'], config: { admin: { listen: '127.0.0.1:0', token } } });
    const refused = await stack.api('/api/v1/token/rotate', { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toMatch(/admin\.token.*reload/);
    expect(stack.poolsink.adminToken).toBe(token);

    writeFileSync(join(stack.dir, 'inline.yaml'), `upstreams: ["127.0.0.1:9"]\nadmin: { token: ${token} }\n`);
    const cli = await runCli(['token', 'rotate', '--config', join(stack.dir, 'inline.yaml')]);
    expect(cli.code).toBe(2);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toMatch(/admin\.token is set in the configuration file.*kill -HUP/);
  });

  test('poolsink token rotate: through the running server, then with no server running', async () => {
    dir = mkdtempSync(join(tmpdir(), 'poolsink-token-'));
    upstream = await startLocalUpstream();
    const adminPort = await freePort();
    const config = join(dir, 'poolsink.yaml');
    writeFileSync(
      config,
      `dns: { listen: ["127.0.0.1:0"] }\nupstreams: ["${upstream.address}"]\n` +
        `log: { level: info }\nadmin: { listen: "127.0.0.1:${adminPort}", tokenFile: token }\n`,
    );
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first-token-first-token\n', { mode: 0o600 });
    server = startCliServer(['serve', '--config', config], { cwd: dir });
    await server.waitForLog('poolsink started');
    const base = `http://127.0.0.1:${adminPort}`;

    const viaServer = await runCli(['token', 'rotate', '--config', config]);
    expect(viaServer.code).toBe(0);
    const second = viaServer.stdout.trim();
    expect(second).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(viaServer.stderr).toMatch(/by the running server/);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(second);
    expect(await status(base, 'first-token-first-token')).toBe(401);
    expect(await status(base, second)).toBe(200);

    server.child.kill('SIGTERM');
    await server.exited;
    const offline = await runCli(['token', 'rotate', '--config', config]);
    expect(offline.code).toBe(0);
    expect(offline.stderr).toMatch(/no server is running/);
    const third = offline.stdout.trim();
    expect(third).not.toBe(second);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(third);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });
});
