/**
 * Detection in the server's own log: one info line when a host is first seen blocked and one when
 * it asks for a pool name new to its incident, written by the writer thread after the commit, with
 * names in presentation format. No notification sink is configured.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { dig } from '../helpers/clients.js';
import { startCliServer, type CliServer } from '../helpers/cli.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';

let dir: string;
let upstream: LocalUpstream;
let server: CliServer | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-detection-'));
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

test('a new blocked host and a new pool name each get one info line', async () => {
  const config = join(dir, 'poolsink.yaml');
  writeFileSync(
    config,
    `dns: { listen: ["127.0.0.1:0"] }
upstreams: ["${upstream.address}"]
admin: { listen: "127.0.0.1:0" }
log: { level: info }
database: { flushIntervalMs: 20 }
blocklists:
  - name: pools
    source: pools.txt
`,
  );
  server = startCliServer(['serve', '--config', config], { cwd: dir });
  const started = await server.waitForLog('poolsink started');
  const port = Number(String(started['listen']).split(':').pop());

  expect((await dig(port, ['a.pool.example'])).status).toBe('NXDOMAIN');
  const host = await server.waitForLog('new host blocked');
  expect(host).toMatchObject({
    level: 30,
    msg: 'new host blocked: 127.0.0.1 asked for a.pool.example (pools)',
    client: '127.0.0.1',
    qname: 'a.pool.example',
    list: 'pools',
  });

  // Asked again: nothing new. A new name (with a space in a label): one line, escaped as dig would.
  expect((await dig(port, ['a.pool.example'])).status).toBe('NXDOMAIN');
  expect((await dig(port, ['b\\032c.pool.example'])).status).toBe('NXDOMAIN');
  const name = await server.waitForLog('new pool name');
  expect(name).toMatchObject({ msg: 'new pool name: 127.0.0.1 asked for b\\032c.pool.example (pools)' });
  expect(server.logs.filter((l) => String(l['msg']).startsWith('new '))).toHaveLength(2);
});
