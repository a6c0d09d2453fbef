/**
 * `poolsink serve` and its lists at start: a file list that cannot be read stops the start (exit 2)
 * unless it is optional; a start that blocks nothing says so in the log and in /healthz; the start
 * line says how many names are blocked from which lists.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { runCli, startCliServer, type CliServer } from '../helpers/cli.js';

let dir: string;
let server: CliServer | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-serve-lists-'));
  writeFileSync(join(dir, 'pools.txt'), 'pool.example\n*.wild.example\n');
});

afterEach(async () => {
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(blocklists: string): string {
  const file = join(dir, 'poolsink.yaml');
  writeFileSync(
    file,
    `dns: { listen: ["127.0.0.1:0"] }
upstreams: ["127.0.0.1:9"]
admin: { listen: "127.0.0.1:0" }
log: { level: info }
blocklists:
${blocklists}`,
  );
  return file;
}

async function started(config: string): Promise<{ line: Record<string, unknown>; admin: string; token: string }> {
  server = startCliServer(['serve', '--config', config], { cwd: dir });
  const line = await server.waitForLog('poolsink started');
  const admin = `http://${String(line['admin'])}`;
  const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
  return { line, admin, token };
}

async function getJson(url: string, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const body: unknown = await response.json();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`not an object: ${url}`);
  return Object.fromEntries(Object.entries(body));
}

describe('a file list that cannot be read at start', () => {
  test('stops the start with exit 2, naming the list and the path', async () => {
    const config = writeConfig(
      '  - name: pools\n    source: pools.txt\n  - name: typo\n    source: blocklists/nope.txt\n',
    );
    const result = await runCli(['serve', '--config', config], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('config blocklists[1].source: list "typo" cannot be read from');
    expect(result.stderr).toContain(join(dir, 'blocklists', 'nope.txt'));
    expect(result.stderr).toContain('optional: true');
    expect(result.stdout).not.toContain('poolsink started');
  });

  test('optional: the server starts, and the list shows its error', async () => {
    const config = writeConfig(
      '  - name: pools\n    source: pools.txt\n  - name: extra\n    source: extra.txt\n    optional: true\n',
    );
    const { line, admin, token } = await started(config);
    expect(line['msg']).toBe('poolsink started: blocking 2 names from 2 lists (pools 2, extra 0 [failed])');
    const lists = (await getJson(`${admin}/api/v1/lists`, token))['lists'];
    expect(lists).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'extra', lastError: expect.stringContaining('extra.txt') }),
      ]),
    );
    const health = await getJson(`${admin}/healthz`);
    expect(health).toMatchObject({ status: 'degraded', reasons: ['list-failing'] });
    expect(JSON.stringify(health)).not.toContain('extra.txt'); // /healthz shows no paths or error texts
  });
});

describe('a start that blocks nothing', () => {
  test('logs an error, and /healthz says why', async () => {
    const config = writeConfig('  - name: extra\n    source: extra.txt\n    optional: true\n');
    const { line, admin } = await started(config);
    expect(line['msg']).toBe('poolsink started: blocking 0 names from 1 list (extra 0 [failed])');
    const errors = server?.logs.filter((l) => l['level'] === 50).map((l) => l['msg']);
    expect(errors).toEqual([expect.stringContaining('no names are blocked')]);
    const health = await getJson(`${admin}/healthz`);
    expect(health).toMatchObject({ status: 'degraded', reasons: ['no-blocked-names', 'list-failing'] });
  });

  test('an alert list alone blocks nothing either: same error, same /healthz reason', async () => {
    writeFileSync(join(dir, 'doh.txt'), 'dns.example\ndoh.example\n');
    const config = writeConfig('  - name: doh\n    source: doh.txt\n    mode: alert\n');
    const { line, admin } = await started(config);
    expect(line['msg']).toBe(
      'poolsink started: blocking 0 names from 0 lists, alerting on 2 names from 1 list (doh 2 [alert])',
    );
    expect(line).toMatchObject({ blockedDomains: 0, alertDomains: 2 });
    expect(server?.logs.filter((l) => l['level'] === 50).map((l) => l['msg'])).toEqual([
      expect.stringContaining('no names are blocked'),
    ]);
    expect(await getJson(`${admin}/healthz`)).toMatchObject({ status: 'degraded', reasons: ['no-blocked-names'] });
  });
});

describe('the start line', () => {
  test('counts the names of alert lists apart from the blocked ones', async () => {
    writeFileSync(join(dir, 'doh.txt'), 'dns.example\ndoh.example\npool.example\n');
    const config = writeConfig(
      '  - name: pools\n    source: pools.txt\n  - name: doh\n    source: doh.txt\n    mode: alert\n    severity: low\n',
    );
    const { line } = await started(config);
    // pool.example belongs to pools, the first list that has it: blocked, not counted as an alert.
    expect(line['msg']).toBe(
      'poolsink started: blocking 2 names from 1 list, alerting on 2 names from 1 list (pools 2, doh 3 [alert])',
    );
    expect(line).toMatchObject({ blockedDomains: 2, alertDomains: 2 });
  });

  test('says how many names each list blocks and where a URL list stands', async () => {
    // Port 9 on loopback: nothing listens. The first fetch is due within a second of the lists'
    // start, so by the start line it has either not run or failed: both are said.
    const config = writeConfig(
      '  - name: pools\n    source: pools.txt\n  - name: feed\n    source: http://127.0.0.1:9/feed.txt\n',
    );
    const { line } = await started(config);
    expect(line['msg']).toMatch(
      /^poolsink started: blocking 2 names from 2 lists \(pools 2, feed 0 \[(not fetched yet|failed)\]\)$/,
    );
    expect(line['lists']).toEqual([
      expect.objectContaining({ name: 'pools', entries: 2, loadedFrom: 'file' }),
      expect.objectContaining({
        name: 'feed',
        entries: 0,
        loadedFrom: expect.stringMatching(/^(not fetched yet|failed)$/),
      }),
    ]);
  });
});
