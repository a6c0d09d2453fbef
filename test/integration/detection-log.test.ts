/**
 * Detection in the server's own log: one info line when a host is first seen blocked and one when
 * it asks for a pool name new to its incident, written by the writer thread after the commit, with
 * names in presentation format. No notification sink is configured.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openServeSandbox, portOf, type ServeSandbox } from '../helpers/cli-serve.js';
import { dig } from '../helpers/clients.js';

let sandbox: ServeSandbox;

beforeEach(async () => {
  sandbox = await openServeSandbox('poolsink-detection-');
});

afterEach(() => sandbox.close());

test('a new blocked host and a new pool name each get one info line', async () => {
  const { dir, upstream } = sandbox;
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
  const server = sandbox.serve(config);
  const started = await server.waitForLog('poolsink started');
  const port = portOf(started['listen']);

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
