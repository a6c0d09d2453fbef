import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { runCli, startCliServer, type CliServer } from '../helpers/cli.js';
import { startLocalUpstream, behaviors, type LocalUpstream } from '../helpers/local-upstream.js';
import { dig } from '../helpers/clients.js';

let dir: string;
let upstream: LocalUpstream | undefined;
let server: CliServer | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-cli-'));
  writeFileSync(join(dir, 'pools.txt'), '# test list\npool.example\n*.wild.example\n');
});

afterEach(async () => {
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  server = undefined;
  await upstream?.close();
  upstream = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(yaml: string): string {
  const file = join(dir, 'poolsink.yaml');
  writeFileSync(file, yaml);
  return file;
}

const LISTS = `blocklists:
  - name: pools
    source: pools.txt
allowlist: [ok.pool.example]
log: { level: info }
admin: { listen: "127.0.0.1:0" }
`;

describe('poolsink check', () => {
  test('prints one verdict line per domain without starting a listener', async () => {
    const config = writeConfig(`upstreams: ["127.0.0.1:9"]\n${LISTS}`);
    const result = await runCli([
      'check',
      '--config',
      config,
      'a.pool.example',
      'ok.pool.example',
      'notpool.example',
      'x.wild.example',
      'wild.example',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'a.pool.example blocked pools pool.example',
      'ok.pool.example allowed allowlist ok.pool.example',
      'notpool.example allowed',
      'x.wild.example blocked pools *.wild.example',
      'wild.example allowed',
    ]);
  });

  test('the bundled default configuration blocks a known pool and passes an exchange', async () => {
    const result = await runCli(['check', 'pool.supportxmr.com', 'coinbase.com'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { POOLSINK_UPSTREAMS: '127.0.0.1:9' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^pool\.supportxmr\.com blocked mining-pools \S+$/m);
    expect(result.stdout).toMatch(/^coinbase\.com allowed$/m);
  });

  test('no domain is a usage error: exit 2', async () => {
    const result = await runCli(['check', '--config', writeConfig(LISTS)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/check needs at least one domain/);
  });
});

describe('bad configuration', () => {
  test.each([
    ['block:\n  response: teapot\n', /block\.response/],
    ['dns:\n  listen: ["127.0.0.1:99999"]\n', /dns\.listen/],
    ['cache:\n  maxEntries: -1\n', /cache\.maxEntries/],
    ['dns:\n  lisen: ["127.0.0.1:53"]\n', /dns\.lisen: unknown key/],
  ])('%s → exit 2 naming the key, nothing started', async (yaml, message) => {
    const config = writeConfig(`upstreams: ["127.0.0.1:9"]\n${yaml}`);
    const result = await runCli(['serve', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toMatch(/poolsink started/);
  });

  test('a bad environment override names the variable’s key', async () => {
    const config = writeConfig(`upstreams: ["127.0.0.1:9"]\n${LISTS}`);
    const result = await runCli(['serve', '--config', config], { env: { POOLSINK_UPSTREAMS: 'not an address' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/upstreams/);
  });

  test('a missing configuration file: exit 2', async () => {
    const result = await runCli(['serve', '--config', join(dir, 'absent.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/absent\.yaml/);
  });
});

describe('poolsink serve', () => {
  test('logs one start line, answers, and on SIGTERM answers what is in flight, then exits 0', async () => {
    upstream = await startLocalUpstream();
    const config = writeConfig(`dns:\n  listen: ["127.0.0.1:0"]\nupstreams: ["${upstream.address}"]\n${LISTS}`);
    server = startCliServer(['serve', '--config', config], { cwd: dir });
    const started = await server.waitForLog('poolsink started');
    expect(started).toMatchObject({ blockedDomains: 2, upstreams: [upstream.address] });
    const listen = started['listen'];
    if (!Array.isArray(listen) || typeof listen[0] !== 'string') throw new Error('start line lacks listen addresses');
    const port = Number(listen[0].split(':').pop());

    expect((await dig(port, ['a.pool.example'])).status).toBe('NXDOMAIN');
    expect((await dig(port, ['fine.example'])).answers).toHaveLength(1);

    upstream.setBehavior(behaviors.slow(400));
    const inflight = dig(port, ['slow.example']);
    await upstream.waitForQueries(2);
    server.child.kill('SIGTERM');
    const answered = await inflight;
    expect(answered.status).toBe('NOERROR');
    expect(answered.answers).toHaveLength(1);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.logs.map((l) => l['msg'])).toContain('poolsink stopped');
  });
});

describe('poolsink lists', () => {
  test('shows the running server’s lists and refreshes them through the admin API', async () => {
    upstream = await startLocalUpstream();
    const config = writeConfig(
      `dns:\n  listen: ["127.0.0.1:0"]\nupstreams: ["${upstream.address}"]\n${LISTS}`.replace(
        'admin: { listen: "127.0.0.1:0" }',
        '',
      ),
    );
    // A fixed admin port is needed for the client side; take a free one from the kernel first.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    const adminPort = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    writeFileSync(config, `${readFileSync(config, 'utf8')}admin: { listen: "127.0.0.1:${adminPort}" }\n`);
    server = startCliServer(['serve', '--config', config], { cwd: dir });
    await server.waitForLog('poolsink started');

    const table = await runCli(['lists', '--config', config]);
    expect(table.stderr).toBe('');
    expect(table.stdout).toMatch(/^pools\s+config\s+block\s+2\s+0\s/m);

    writeFileSync(join(dir, 'pools.txt'), 'pool.example\n*.wild.example\nnewpool.example\n');
    const refreshed = await runCli(['lists', 'refresh', 'pools', '--config', config]);
    // The manager's own file poll may reload the edited file before the CLI asks: then the refresh
    // finds it unchanged. Either way the list now holds the three new entries.
    expect(refreshed.stdout).toMatch(/^pools\s+(updated\s+3\s+2|unchanged\s+3\s+3)\b/m);
    const port = Number(
      String((await server.waitForLog('poolsink started'))['listen'])
        .split(':')
        .pop(),
    );
    expect((await dig(port, ['a.newpool.example'])).status).toBe('NXDOMAIN');

    const missing = await runCli(['lists', 'refresh', 'nope', '--config', config]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope/);
  });
});
