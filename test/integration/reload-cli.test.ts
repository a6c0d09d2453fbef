/**
 * SIGHUP to a real `node dist/cli.js serve`: the process survives, reloads its configuration file
 * (a changed allowlist changes a DNS answer), and a bad file keeps the running configuration with
 * an error line naming the key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { startCliServer, type CliServer } from '../helpers/cli.js';
import { dig } from '../helpers/clients.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { until } from '../helpers/wait.js';

let dir: string;
let upstream: LocalUpstream;
let server: CliServer | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-hup-'));
  writeFileSync(join(dir, 'pools.txt'), 'pool.example\n');
  upstream = await startLocalUpstream();
});

afterEach(async () => {
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  server = undefined;
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(extra: string): string {
  const file = join(dir, 'poolsink.yaml');
  writeFileSync(
    file,
    `dns: { listen: ["127.0.0.1:0"] }\nupstreams: ["${upstream.address}"]\n` +
      'blocklists: [{ name: pools, source: pools.txt }]\nlog: { level: info }\n' +
      `admin: { listen: "127.0.0.1:0" }\n${extra}`,
  );
  return file;
}

function count(s: CliServer, msg: string): number {
  return s.logs.filter((line) => line['msg'] === msg).length;
}

test('SIGHUP reloads the configuration file; a bad file is logged and changes nothing', async () => {
  const config = writeConfig('');
  server = startCliServer(['serve', '--config', config], { cwd: dir });
  const started = await server.waitForLog('poolsink started');
  const listen = started['listen'];
  if (!Array.isArray(listen) || typeof listen[0] !== 'string') throw new Error('start line lacks listen addresses');
  const port = Number(listen[0].split(':').pop());
  expect((await dig(port, ['pool.example'])).status).toBe('NXDOMAIN');

  writeConfig('allowlist: [pool.example]\n');
  server.child.kill('SIGHUP');
  const reloaded = await server.waitForLog('configuration reloaded');
  expect(reloaded['applied']).toEqual(['allowlist']);
  expect((await dig(port, ['pool.example'])).status).toBe('NOERROR');

  writeConfig('allowlist: [pool.example]\nblock: { response: nope }\n');
  server.child.kill('SIGHUP');
  const failed = await server.waitForLog('configuration reload failed; the running configuration stays');
  expect(failed['level']).toBe(50);
  expect(String(failed['err'])).toMatch(/block\.response/);
  expect((await dig(port, ['pool.example'])).status).toBe('NOERROR');

  writeConfig('');
  server.child.kill('SIGHUP');
  await until(() => server !== undefined && count(server, 'configuration reloaded') === 2);
  expect((await dig(port, ['pool.example'])).status).toBe('NXDOMAIN');
  expect(server.child.exitCode).toBeNull();
});
