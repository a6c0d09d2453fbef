/**
 * SIGHUP to a real `node dist/cli.js serve`: the process survives, reloads its configuration file
 * (a changed allowlist changes a DNS answer), and a bad file keeps the running configuration with
 * an error line naming the key.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { CliServer } from '../helpers/cli.js';
import { openServeSandbox, portOf, type ServeSandbox } from '../helpers/cli-serve.js';
import { dig } from '../helpers/clients.js';
import { until } from '../helpers/wait.js';

let sandbox: ServeSandbox;

beforeEach(async () => {
  sandbox = await openServeSandbox('poolsink-hup-');
});

afterEach(() => sandbox.close());

function writeConfig(rest: string): string {
  return sandbox.writeConfig({ rest });
}

function count(s: CliServer, msg: string): number {
  return s.logs.filter((line) => line['msg'] === msg).length;
}

test('SIGHUP reloads the configuration file; a bad file is logged and changes nothing', async () => {
  const config = writeConfig('');
  const server = sandbox.serve(config);
  const started = await server.waitForLog('poolsink started');
  const port = portOf(started['listen']);
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
  await until(() => count(server, 'configuration reloaded') === 2);
  expect((await dig(port, ['pool.example'])).status).toBe('NXDOMAIN');
  expect(server.child.exitCode).toBeNull();
});
