/**
 * The newcomer's path, end to end: the project's own poolsink.yaml and bundled list in a fresh
 * directory (the URL feeds left out: tests never reach the internet), started the way `npm start`
 * starts it (`node dist/cli.js serve --config poolsink.yaml` from that directory; loopback port 0
 * and a local upstream through POOLSINK_* overrides), a blocked query from dig, then `poolsink
 * hosts` and `poolsink events` from ANOTHER directory, finding the configuration through
 * POOLSINK_CONFIG, show the block.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, test } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { runCli, startCliServer, type CliServer } from '../helpers/cli.js';
import { dig } from '../helpers/clients.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { until } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
let upstream: LocalUpstream | undefined;
let server: CliServer | undefined;

afterEach(async () => {
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  server = undefined;
  await upstream?.close();
  upstream = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** README's poolsink.yaml without the lists it would fetch from the internet. */
function offlineDefaultConfig(): string {
  const doc: unknown = parseYaml(readFileSync(join(ROOT, 'poolsink.yaml'), 'utf8'));
  if (typeof doc !== 'object' || doc === null || !('blocklists' in doc) || !Array.isArray(doc.blocklists))
    throw new Error('poolsink.yaml has no blocklists');
  const local = doc.blocklists.filter(
    (list: unknown) =>
      typeof list === 'object' && list !== null && 'source' in list && !String(list.source).startsWith('http'),
  );
  expect(local.length).toBeGreaterThan(0);
  return stringify({ ...doc, blocklists: local });
}

test('fresh directory → start → a blocked query → hosts and events from another directory show it', async () => {
  const project = tempDir('poolsink-newcomer-');
  cpSync(join(ROOT, 'blocklists'), join(project, 'blocklists'), { recursive: true });
  writeFileSync(join(project, 'poolsink.yaml'), offlineDefaultConfig());
  upstream = await startLocalUpstream();
  server = startCliServer(['serve', '--config', 'poolsink.yaml'], {
    cwd: project,
    env: {
      POOLSINK_CONFIG: '',
      POOLSINK_LISTEN: '127.0.0.1:0',
      POOLSINK_ADMIN_LISTEN: '127.0.0.1:0',
      POOLSINK_UPSTREAMS: upstream.address,
    },
  });
  const started = await server.waitForLog('poolsink started');
  const port = Number(String(started['listen']).split(':').pop());

  expect((await dig(port, ['pool.supportxmr.com'])).status).toBe('NXDOMAIN');
  expect((await dig(port, ['example.com'])).status).toBe('NOERROR');

  // The block reaches the database within the writer's flush interval.
  const db = new Database(join(project, 'data', 'poolsink.db'), { readonly: true, fileMustExist: true });
  try {
    await until(() => {
      const row: unknown = db.prepare('SELECT count(*) AS n FROM events').get();
      return typeof row === 'object' && row !== null && 'n' in row && Number(row.n) > 0;
    });
  } finally {
    db.close();
  }

  const elsewhere = tempDir('poolsink-operator-');
  const env = { POOLSINK_CONFIG: join(project, 'poolsink.yaml'), POOLSINK_UPSTREAMS: upstream.address };
  const hosts = await runCli(['hosts'], { cwd: elsewhere, env });
  expect(hosts.stderr).toBe('');
  expect(hosts.code).toBe(0);
  expect(hosts.stdout).toMatch(/^127\.0\.0\.1\s.*pool\.supportxmr\.com \(1\)$/m);
  const table = await runCli(['events'], { cwd: elsewhere, env });
  expect(table.stdout).toMatch(/\budp\s+pool\.supportxmr\.com\s+A\s+mining-pools\s/);
  const events = await runCli(['events', '--format', 'csv'], { cwd: elsewhere, env });
  expect(events.code).toBe(0);
  expect(events.stdout).toMatch(/,127\.0\.0\.1,\d+,udp,pool\.supportxmr\.com,1,A,mining-pools,/);
  // The API's filters: --list, --action, --until, --format ndjson.
  const ndjson = await runCli(['events', '--list', 'mining-pools', '--action', 'blocked', '--format', 'ndjson'], {
    cwd: elsewhere,
    env,
  });
  expect(
    ndjson.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).qtypeName),
  ).toEqual(['A']);
  const none = await runCli(['events', '--action', 'alerted', '--until', '2000-01-01T00:00:00Z'], {
    cwd: elsewhere,
    env,
  });
  expect(none.stdout).toBe('no events\n');
});

test('`npx poolsink` in the project directory runs the package’s own bin (dist/cli.js)', () => {
  // npm exec installs the local package as a link into its own cache (here a temp one, offline).
  const result = spawnSync(
    'npx',
    ['--offline', '--cache', tempDir('poolsink-npx-cache-'), 'poolsink', 'help', 'hosts'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('poolsink hosts [--config FILE]');
});
