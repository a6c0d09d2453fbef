/**
 * Configuration reload in process: startPoolsink with a real configuration file, changed on disk,
 * then reload() (what SIGHUP calls) or POST /api/v1/reload. Real sockets, answers read by dig.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startPoolsink, type Poolsink } from '../../src/main.js';
import { dig, udpExchange } from '../helpers/clients.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';

let dir: string;
let upstreams: LocalUpstream[];
let poolsink: Poolsink | undefined;
let logs: Record<string, unknown>[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-reload-'));
  writeFileSync(join(dir, 'pools.txt'), 'pool.example\n');
  writeFileSync(join(dir, 'more.txt'), 'newpool.example\n');
  upstreams = [await startLocalUpstream(), await startLocalUpstream()];
  logs = [];
});

afterEach(async () => {
  await poolsink?.close();
  poolsink = undefined;
  await Promise.all(upstreams.map((upstream) => upstream.close()));
  rmSync(dir, { recursive: true, force: true });
});

const file = (): string => join(dir, 'poolsink.yaml');

/** The configuration file: JSON is YAML. `extra` is merged over the base, section by section. */
function writeConfig(extra: Record<string, unknown> = {}, listen = '127.0.0.1:0'): void {
  const base: Record<string, unknown> = {
    dns: { listen: [listen] },
    upstreams: [upstreams[0]?.address],
    upstreamTimeoutMs: 500,
    blocklists: [{ name: 'pools', source: 'pools.txt' }],
    log: { level: 'info' },
    dataDir: 'data',
    admin: { listen: '127.0.0.1:0' },
  };
  writeFileSync(file(), JSON.stringify({ ...base, ...extra }));
}

async function start(): Promise<Poolsink> {
  const load = () => loadConfig({ file: file(), env: {}, resolvConfPath: join(dir, 'no-resolv.conf') });
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  poolsink = await startPoolsink(load(), { log, loadConfig: load });
  return poolsink;
}

const port = (p: Poolsink): number => p.udp[0]?.port ?? 0;

describe('reload', () => {
  test('a changed allowlist and list set apply: answers change; API-added lists stay', async () => {
    writeFileSync(join(dir, 'runtime.txt'), 'runtimepool.example\n');
    const lists = { fileSourceDir: '.' };
    writeConfig({ lists });
    const p = await start();
    const runtime = await request(`http://127.0.0.1:${p.admin.address.port}/api/v1/lists`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'runtime', source: join(dir, 'runtime.txt') }),
    });
    expect(runtime.statusCode).toBe(201);
    await runtime.body.dump();
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    expect((await dig(port(p), ['newpool.example', 'A'])).status).toBe('NOERROR');

    writeConfig({
      lists,
      allowlist: ['pool.example'],
      blocklists: [
        { name: 'pools', source: 'pools.txt' },
        { name: 'more', source: 'more.txt' },
      ],
    });
    const result = await p.reload();
    expect(result).toEqual({ ok: true, applied: ['blocklists', 'allowlist'], restartNeeded: [] });
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('NOERROR');
    expect((await dig(port(p), ['newpool.example', 'A'])).status).toBe('NXDOMAIN');
    expect(p.lists.lists().map((list) => list.name)).toEqual(['pools', 'runtime', 'more']);

    writeConfig({ lists, blocklists: [{ name: 'more', source: 'more.txt' }] });
    await p.reload();
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('NOERROR');
    expect((await dig(port(p), ['runtimepool.example', 'A'])).status).toBe('NXDOMAIN');
    expect(p.lists.lists().map((list) => [list.name, list.origin])).toEqual([
      ['runtime', 'runtime'],
      ['more', 'config'],
    ]);
  });

  test('a list whose source or mode changes is reloaded under its name', async () => {
    writeConfig();
    const p = await start();
    writeConfig({ blocklists: [{ name: 'pools', source: 'more.txt' }] });
    expect(await p.reload()).toEqual({ ok: true, applied: ['blocklists'], restartNeeded: [] });
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('NOERROR');
    expect((await dig(port(p), ['newpool.example', 'A'])).status).toBe('NXDOMAIN');
    writeConfig({ blocklists: [{ name: 'pools', source: 'more.txt', mode: 'alert' }] });
    expect((await p.reload()).ok).toBe(true);
    expect((await dig(port(p), ['newpool.example', 'A'])).status).toBe('NOERROR');
    expect(p.lists.lists().map((list) => [list.name, list.mode, list.entries])).toEqual([['pools', 'alert', 1]]);
  });

  test('a bad file keeps the running configuration; the log names the key and the problem', async () => {
    writeConfig();
    const p = await start();
    writeConfig({ allowlist: ['pool.example'], dns: { listen: ['127.0.0.1:0'], allowClients: ['10.0.0.0/33'] } });
    const result = await p.reload();
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error.message).toMatch(/dns\.allowClients\[0\]/);
    const line = logs.find((l) => l['msg'] === 'configuration reload failed; the running configuration stays');
    expect(line?.['level']).toBe(50);
    expect(String(line?.['err'])).toMatch(/dns\.allowClients\[0\].*not a CIDR/);
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    expect((await dig(port(p), ['other.example', 'A'])).status).toBe('NOERROR');
  });

  test('allowClients: the resolver and the TCP listener refuse a client dropped from the ACL', async () => {
    writeConfig();
    const p = await start();
    expect((await dig(port(p), ['other.example', 'A', '+tcp'])).status).toBe('NOERROR');
    writeConfig({ dns: { listen: ['127.0.0.1:0'], allowClients: ['10.0.0.0/8'] } });
    expect(await p.reload()).toEqual({ ok: true, applied: ['dns.allowClients'], restartNeeded: [] });
    expect((await dig(port(p), ['other.example', 'A'])).status).toBe('REFUSED');
    const tcpPort = p.tcp[0]?.port ?? 0;
    const tcp = await dig(tcpPort, ['other.example', 'A', '+tcp']).catch(() => undefined);
    expect(tcp?.status ?? 'closed').not.toBe('NOERROR');
  });

  test('block answer: response kind, TTL and sinkhole address change', async () => {
    writeConfig();
    const p = await start();
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    writeConfig({ block: { response: 'sinkhole', sinkholeIpv4: '192.0.2.77', ttlSec: 7 } });
    const result = await p.reload();
    expect(result.ok && [...result.applied].sort()).toEqual(['block.response', 'block.sinkholeIpv4', 'block.ttlSec']);
    const answer = await dig(port(p), ['pool.example', 'A']);
    expect(answer.status).toBe('NOERROR');
    expect(answer.answers).toEqual(['pool.example. 7 IN A 192.0.2.77']);
  });

  test('upstreams: the next query goes to the new upstream', async () => {
    writeConfig();
    const p = await start();
    const [first, second] = upstreams;
    if (first === undefined || second === undefined) throw new Error('upstreams');
    expect((await dig(port(p), ['a.example', 'A'])).status).toBe('NOERROR');
    expect(first.queries.length).toBe(1);
    writeConfig({ upstreams: [second.address], upstreamTimeoutMs: 700 });
    const result = await p.reload();
    expect(result.ok && result.applied).toEqual(['upstreams', 'upstreamTimeoutMs']);
    expect((await dig(port(p), ['b.example', 'A'])).status).toBe('NOERROR');
    expect(second.queries.map((q) => q.qname.toLowerCase())).toEqual(['b.example']);
    expect(first.queries.length).toBe(1);
    expect(p.upstream.health().map((h) => h.upstream)).toEqual([second.address]);
  });

  test('a listener change is named once in a warn line as restart needed; the old listener serves on', async () => {
    writeConfig();
    const p = await start();
    writeConfig({ log: { level: 'debug' }, admin: { listen: '127.0.0.1:1' } }, '127.0.0.1:1');
    const result = await p.reload();
    expect(result).toEqual({ ok: true, applied: ['log.level'], restartNeeded: ['dns.listen', 'admin.listen'] });
    const warn = logs.filter((l) => l['level'] === 40 && String(l['msg']).startsWith('restart needed for:'));
    expect(warn.map((l) => l['msg'])).toEqual(['restart needed for: dns.listen, admin.listen']);
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    expect(logs.some((l) => l['level'] === 20 && l['msg'] === 'blocked')).toBe(true); // log.level debug applied
  });

  test('POST /api/v1/reload answers with the result; a bad file is a 422 naming the key', async () => {
    writeConfig();
    const p = await start();
    const base = `http://127.0.0.1:${p.admin.address.port}`;
    const post = async (token = p.adminToken) => {
      const response = await request(`${base}/api/v1/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: response.statusCode, body: await response.body.json() };
    };
    expect((await post('wrong-token-wrong-token')).status).toBe(401);
    writeConfig({ block: { response: 'refused' }, dns: { listen: ['127.0.0.1:5'] } });
    expect(await post()).toEqual({ status: 200, body: { applied: ['block.response'], restartNeeded: ['dns.listen'] } });
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('REFUSED');
    writeConfig({ upstreamTimeoutMs: 'soon' });
    const bad = await post();
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({
      error: { code: 'ERR_CONFIG_INVALID', message: expect.stringMatching(/upstreamTimeoutMs/) },
    });
    expect((await dig(port(p), ['pool.example', 'A'])).status).toBe('REFUSED');
  });

  test('rate limits change and turn off live', async () => {
    writeConfig();
    const p = await start();
    const burst = async (): Promise<number[]> =>
      Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const reply = await udpExchange(port(p), encodeQuery(`q${i}.example`, { id: i + 1 }));
          return reply === undefined ? -1 : rcodeOf(reply);
        }),
      );
    expect(await burst()).not.toContain(5);
    writeConfig({ dns: { listen: ['127.0.0.1:0'], rateLimit: { qps: 1, burst: 1 } } });
    expect(await p.reload()).toMatchObject({ applied: ['dns.rateLimit.qps', 'dns.rateLimit.burst'] });
    expect(await burst()).toContain(5); // REFUSED: 20 at once from one client, 1 a second allowed
    writeConfig({ dns: { listen: ['127.0.0.1:0'], rateLimit: { qps: 0 } } });
    expect((await p.reload()).ok).toBe(true);
    expect(await burst()).not.toContain(5);
  });

  test('dns.workers 2: one "configuration reloaded" line, from the primary; workers report only their own keys', async () => {
    writeConfig({ dns: { listen: ['127.0.0.1:0'], workers: 2 } });
    const p = await start();
    expect(p.workers?.workers()).toHaveLength(2);
    writeConfig({ dns: { listen: ['127.0.0.1:0'], workers: 2 }, upstreamTimeoutMs: 700, log: { level: 'debug' } });
    const result = await p.reload();
    expect(result).toEqual({ ok: true, applied: ['upstreamTimeoutMs', 'log.level'], restartNeeded: [] });
    // A worker's lines reach the primary's log before it reports the reload applied (one IPC channel, in order).
    const reloaded = logs.filter((l) => l['msg'] === 'configuration reloaded');
    expect(reloaded).toEqual([expect.objectContaining({ level: 30, applied: ['upstreamTimeoutMs', 'log.level'] })]);
    expect(reloaded[0]).not.toHaveProperty('worker');
    const workerLines = logs.filter((l) => l['msg'] === 'reloaded configuration applied in this worker');
    expect(workerLines.map((l) => l['worker']).sort()).toEqual([0, 1]);
    for (const line of workerLines) expect(line['applied']).toEqual(['upstreamTimeoutMs', 'log.level']);
    expect(logs.filter((l) => JSON.stringify(l['applied'] ?? []).includes('admin.token'))).toEqual([]);
  });

  test('admin.token changed in the file: the old token is refused after the reload', async () => {
    writeConfig({ admin: { listen: '127.0.0.1:0', token: 'first-token-first-token' } });
    const p = await start();
    writeConfig({ admin: { listen: '127.0.0.1:0', token: 'second-token-second-token' } });
    expect(await p.reload()).toEqual({ ok: true, applied: ['admin.token'], restartNeeded: [] });
    const base = `http://127.0.0.1:${p.admin.address.port}`;
    const statusWith = async (token: string): Promise<number> => {
      const response = await request(`${base}/api/v1/lists`, { headers: { authorization: `Bearer ${token}` } });
      await response.body.dump();
      return response.statusCode;
    };
    expect(await statusWith('first-token-first-token')).toBe(401);
    expect(await statusWith('second-token-second-token')).toBe(200);
  });

  test('hosts.inventory: files added and removed by a reload replace the identities', async () => {
    copyFileSync(new URL('../fixtures/inventory/hosts.csv', import.meta.url), join(dir, 'hosts.csv'));
    writeConfig();
    const p = await start();
    expect(p.hostIdentity.lookup('10.0.1.17')).toBeUndefined();
    writeConfig({ hosts: { inventory: [{ source: 'hosts.csv' }] } });
    expect(await p.reload()).toEqual({ ok: true, applied: ['hosts.inventory'], restartNeeded: [] });
    expect(p.hostIdentity.lookup('10.0.1.17')?.name).toBe('web-7');
    expect(p.hostIdentity.status().files.map((file) => file.source)).toEqual([join(dir, 'hosts.csv')]);
    writeConfig({ hosts: { reverseDns: true } });
    expect(await p.reload()).toEqual({ ok: true, applied: ['hosts.inventory'], restartNeeded: ['hosts.reverseDns'] });
    expect(p.hostIdentity.lookup('10.0.1.17')).toBeUndefined();
  });

  test('concurrent reloads run one at a time and agree', async () => {
    writeConfig();
    const p = await start();
    writeConfig({ allowlist: ['pool.example'] });
    const results = await Promise.all([p.reload(), p.reload(), p.reload()]);
    expect(results[0]).toEqual({ ok: true, applied: ['allowlist'], restartNeeded: [] });
    expect(results.slice(1)).toEqual([
      { ok: true, applied: [], restartNeeded: [] },
      { ok: true, applied: [], restartNeeded: [] },
    ]);
  });
});
