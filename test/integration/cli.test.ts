import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { runCli, startCliServer, type CliServer } from '../helpers/cli.js';
import { startLocalUpstream, behaviors, type LocalUpstream } from '../helpers/local-upstream.js';
import { dig } from '../helpers/clients.js';
import { startListServer } from '../helpers/list-server.js';
import { until } from '../helpers/wait.js';

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
      '--files',
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
      'a.pool.example block pools pool.example',
      'ok.pool.example allowlisted ok.pool.example',
      'notpool.example allow',
      'x.wild.example block pools *.wild.example',
      'wild.example allow',
    ]);
  });

  test('the bundled default configuration blocks a known pool and passes an exchange', async () => {
    const result = await runCli(['check', '--files', 'pool.supportxmr.com', 'coinbase.com'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { POOLSINK_UPSTREAMS: '127.0.0.1:9' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^pool\.supportxmr\.com block mining-pools \S+$/m);
    expect(result.stdout).toMatch(/^coinbase\.com allow$/m);
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

/**
 * Starts `serve` with every port 0 (no port is picked and released first: another process could
 * take it), then writes client.yaml, the same configuration with the admin port the server bound,
 * for the CLI commands that talk to it.
 */
async function startServer(
  blocklists: string,
  extra = '',
): Promise<{ clientConfig: string; dnsPort: number; adminPort: number }> {
  upstream = await startLocalUpstream();
  const yaml = (adminPort: number): string =>
    `dns:\n  listen: ["127.0.0.1:0"]\nupstreams: ["${upstream?.address}"]\nlog: { level: info }\n` +
    `admin: { listen: "127.0.0.1:${adminPort}" }\nlists: { allowPrivateSources: ["127.0.0.1/32"] }\n` +
    `allowlist: [ok.pool.example]\nblocklists:\n${blocklists}${extra}`;
  const config = writeConfig(yaml(0));
  server = startCliServer(['serve', '--config', config], { cwd: dir });
  const started = await server.waitForLog('poolsink started');
  // URL lists load in the background after the start line: wait until each has been loaded once.
  const urlLists = [...blocklists.matchAll(/- name: (\S+)\n\s+source: http/g)].map((m) => m[1]);
  await until(() =>
    urlLists.every((name) => server?.logs.some((l) => l['msg'] === 'blocklist loaded' && l['list'] === name)),
  );
  const adminPort = Number(String(started['admin']).split(':').pop());
  const clientConfig = join(dir, 'client.yaml');
  writeFileSync(clientConfig, yaml(adminPort));
  return { clientConfig, adminPort, dnsPort: Number(String(started['listen']).split(':').pop()) };
}

const POOLS_FILE = '  - name: pools\n    source: pools.txt\n';

describe('poolsink lists', () => {
  test('shows the running server’s lists and refreshes them through the admin API', async () => {
    // A URL list with a day between refreshes: only the CLI's refresh fetches it again (a file
    // list would race the server's own file poll).
    const lists = await startListServer();
    try {
      lists.set('/feed.txt', { body: 'feed.example\nother.example\n' });
      const { clientConfig, dnsPort } = await startServer(
        `${POOLS_FILE}  - name: feed\n    source: ${lists.url('/feed.txt')}\n    refreshSec: 86400\n`,
      );

      const table = await runCli(['lists', '--config', clientConfig]);
      expect(table.stderr).toBe('');
      expect(table.stdout).toMatch(/^pools\s+config\s+block\s+2\s+0\s/m);
      expect(table.stdout).toMatch(/^feed\s+config\s+block\s+2\s+0\s/m);

      lists.set('/feed.txt', { body: 'feed.example\nother.example\nnewpool.example\n' });
      const refreshed = await runCli(['lists', 'refresh', 'feed', '--config', clientConfig]);
      expect(refreshed.stdout).toMatch(/^feed\s+updated\s+3\s+2\b/m);
      expect(refreshed.code).toBe(0);
      expect((await dig(dnsPort, ['a.newpool.example'])).status).toBe('NXDOMAIN');

      // Down to one entry of three: the shrink guard rejects it, and the command says so by exit 1.
      lists.set('/feed.txt', { body: 'feed.example\n' });
      const rejected = await runCli(['lists', 'refresh', '--config', clientConfig]);
      expect(rejected.stdout).toMatch(/^feed\s+rejected\s/m);
      expect(rejected.code).toBe(1);
      const forced = await runCli(['lists', 'refresh', 'feed', '--force', '--config', clientConfig]);
      expect(forced.stdout).toMatch(/^feed\s+updated\s+1\s+3\b/m);
      expect(forced.code).toBe(0);

      const missing = await runCli(['lists', 'refresh', 'nope', '--config', clientConfig]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/nope/);
    } finally {
      await lists.close();
    }
  });

  test('a refresh that fails (the source answers 500) exits 1', async () => {
    const lists = await startListServer();
    try {
      const path = `/${'long-path-segment/'.repeat(6)}feed.txt`;
      lists.set(path, { body: 'feed.example\n' });
      const { clientConfig } = await startServer(`  - name: feed\n    source: ${lists.url(path)}\n`);
      lists.set(path, { status: 500 });
      const failed = await runCli(['lists', 'refresh', 'feed', '--config', clientConfig]);
      expect(failed.stdout).toMatch(/^feed\s+failed\s/m);
      expect(failed.code).toBe(1);
      // The table fits 120 columns; the error does not repeat the URL.
      const table = await runCli(['lists', '--config', clientConfig]);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[2]).toMatch(/^feed\s+config\s+block\s+1\s/);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(120);
      expect(table.stdout.split('long-path-segment').length - 1).toBeLessThanOrEqual(2);
    } finally {
      await lists.close();
    }
  });
});

/** One admin API call with the server's token (written to data/admin-token at start). */
async function admin(port: number, method: 'POST', path: string, body: unknown): Promise<number> {
  const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
  const response = await request(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.body.dump();
  return response.statusCode;
}

describe('poolsink check and the running server', () => {
  test('agrees with the server on runtime lists and runtime allowlist entries; without one it says so', async () => {
    const lists = await startListServer();
    try {
      lists.set('/runtime.txt', { body: 'runtime.example\n' });
      const { clientConfig, adminPort } = await startServer(POOLS_FILE);
      expect(await admin(adminPort, 'POST', '/api/v1/allowlist', { domain: 'fine.pool.example' })).toBe(201);
      expect(
        await admin(adminPort, 'POST', '/api/v1/lists', { name: 'runtime', source: lists.url('/runtime.txt') }),
      ).toBe(201);
      const names = ['x.fine.pool.example', 'x.runtime.example', 'a.pool.example', 'ok.pool.example', 'free.example'];
      const asked = await runCli(['check', '--config', clientConfig, ...names]);
      expect(asked.stderr).toBe('');
      expect(asked.code).toBe(0);
      const serverLines = [
        'x.fine.pool.example allowlisted fine.pool.example',
        'x.runtime.example block runtime runtime.example',
        'a.pool.example block pools pool.example',
        'ok.pool.example allowlisted ok.pool.example',
        'free.example allow',
      ];
      expect(asked.stdout.trim().split('\n')).toEqual(serverLines);

      server?.child.kill('SIGTERM');
      await server?.exited;
      const offline = await runCli(['check', '--config', clientConfig, ...names]);
      expect(offline.code).toBe(0);
      expect(offline.stderr).toMatch(/note: no running server answered \(cannot reach the admin API/);
      expect(offline.stderr).toMatch(/ignore runtime lists and runtime allowlist entries/);
      expect(offline.stdout.trim().split('\n')).toEqual([
        'x.fine.pool.example block pools pool.example',
        'x.runtime.example allow',
        'a.pool.example block pools pool.example',
        'ok.pool.example allowlisted ok.pool.example',
        'free.example allow',
      ]);
    } finally {
      await lists.close();
    }
  });
});

describe('help', () => {
  test.each([[['--help']], [['-h']], [['help']]])('%j prints every command and exits 0', async (args) => {
    const result = await runCli(args);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['serve', 'check', 'hosts', 'events', 'lists', 'incidents'])
      expect(result.stdout).toContain(`poolsink ${command} `);
  });

  test.each([[['help', 'events']], [['events', '--help']], [['events', '-h']]])(
    '%j prints that command only and exits 0',
    async (args) => {
      const result = await runCli(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('poolsink events [--config FILE]');
      expect(result.stdout).not.toContain('poolsink hosts');
    },
  );

  test.each([[[]], [['bogus']], [['help', 'bogus']], [['hosts', '--bogus']]])(
    '%j is bad usage: exit 2',
    async (args) => {
      const result = await runCli(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/usage:/);
    },
  );
});

describe('which configuration file', () => {
  test('POOLSINK_CONFIG from another directory; none anywhere names every place looked at', async () => {
    const config = writeConfig(`upstreams: ["127.0.0.1:9"]\n${LISTS}`);
    const elsewhere = mkdtempSync(join(tmpdir(), 'poolsink-cwd-'));
    try {
      const found = await runCli(['check', '--files', 'a.pool.example'], {
        cwd: elsewhere,
        env: { POOLSINK_CONFIG: config },
      });
      expect(found.stdout).toBe('a.pool.example block pools pool.example\n');
      const local = await runCli(['check', '--files', 'a.pool.example'], { cwd: dir, env: { POOLSINK_CONFIG: '' } });
      expect(local.stdout).toBe('a.pool.example block pools pool.example\n');
      const none = await runCli(['hosts'], { cwd: elsewhere, env: { POOLSINK_CONFIG: '' } });
      expect(none.code).toBe(2);
      expect(none.stderr).toContain(`${join(elsewhere, 'poolsink.yaml')}, /etc/poolsink/poolsink.yaml`);
      expect(none.stderr).toContain('POOLSINK_CONFIG (not set)');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('poolsink pool-ips', () => {
  test('prints the running server’s pool IP feed as a table or as a firewall file', async () => {
    writeFileSync(join(dir, 'pool-ips.txt'), '203.0.113.0/24\n2001:db8:ff::/48\n');
    const { clientConfig } = await startServer(
      `${POOLS_FILE}  - name: pool-ips\n    source: pool-ips.txt\n    format: ip\n`,
      'poolIps: { learn: false }\n',
    );
    const table = await runCli(['pool-ips', '--config', clientConfig]);
    expect(table.stderr).toBe('');
    expect(table.stdout).toMatch(/^ADDRESS\s+LIST\s+MODE\s+NAME\s+LAST SEEN$/m);
    expect(table.stdout).toMatch(/^203\.0\.113\.0\/24\s+pool-ips\s+block\s+-\s+-$/m);
    expect(table.stdout).toMatch(/^2001:db8:ff::\/48\s+pool-ips\s+block/m);

    const nft = await runCli(['pool-ips', '--format', 'nftables', '--config', clientConfig]);
    expect(nft.code).toBe(0);
    expect(nft.stdout).toContain('add element inet poolsink pool_ips_v4 { 203.0.113.0/24 }');
    const suricata = await runCli(['pool-ips', '--format=suricata', '--action', 'alert', '--config', clientConfig]);
    expect(suricata.stdout).toMatch(/^alert ip \$HOME_NET any -> 203\.0\.113\.0\/24 any \(/m);

    const bad = await runCli(['pool-ips', '--format', 'xml', '--config', clientConfig]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format must be one of table, text, json, nftables, iptables, suricata');
  });
});
