/**
 * dns.workers 2 through the real command line (`node dist/cli.js serve`): SIGHUP reloads the
 * configuration in the primary and every resolver process (a changed block answer is what each
 * worker sends), and SIGTERM drains the workers (a query waiting on a slow upstream is answered)
 * before the process exits 0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { RCODE } from '../helpers/answers.js';
import { startCliServer, type CliServer } from '../helpers/cli.js';
import { tcpExchange } from '../helpers/clients.js';
import { behaviors, startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'workers-cli-test-token';

let dir: string;
let upstream: LocalUpstream;
let server: CliServer | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-workers-cli-'));
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

function writeConfig(blockResponse: string): string {
  const file = join(dir, 'poolsink.yaml');
  writeFileSync(
    file,
    `dns: { listen: ["127.0.0.1:0"], workers: 2 }\nupstreams: ["${upstream.address}"]\n` +
      'blocklists: [{ name: pools, source: pools.txt }]\nlog: { level: info }\n' +
      `admin: { listen: "127.0.0.1:0", token: ${TOKEN} }\nblock: { response: ${blockResponse} }\n`,
  );
  return file;
}

/** The port of the first address in a start line's `listen` or `admin` field. */
function portOf(field: unknown): number {
  const address = Array.isArray(field) ? field[0] : field;
  if (typeof address !== 'string') throw new Error(`not an address: ${JSON.stringify(field)}`);
  return Number(address.split(':').pop());
}

async function queriesPerWorker(adminPort: number): Promise<Map<string, number>> {
  const response = await request(`http://127.0.0.1:${adminPort}/metrics`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const text = await response.body.text();
  expect(response.statusCode).toBe(200);
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^poolsink_worker_queries_total\{worker="(\d+)"\} (\d+)$/gm)) {
    counts.set(match[1] ?? '', Number(match[2]));
  }
  return counts;
}

/** Queries `name` on new TCP connections (handed to the workers in turn) until both have answered; each answer must have `rcode`. */
async function expectFromEveryWorker(dnsPort: number, adminPort: number, name: string, rcode: number): Promise<void> {
  const before = await queriesPerWorker(adminPort);
  for (let sent = 1; sent <= 40; sent++) {
    const [reply] = await tcpExchange(dnsPort, [encodeQuery(name)]);
    expect(reply === undefined ? -1 : rcodeOf(reply)).toBe(rcode);
    const now = await queriesPerWorker(adminPort);
    if (['0', '1'].every((worker) => (now.get(worker) ?? 0) > (before.get(worker) ?? 0))) return;
  }
  throw new Error(`not every worker answered ${name}`);
}

test('SIGHUP reaches every worker; SIGTERM drains them and exits 0', async () => {
  const config = writeConfig('nxdomain');
  server = startCliServer(['serve', '--config', config], { cwd: dir });
  const started = await server.waitForLog('poolsink started');
  const dnsPort = portOf(started['listen']);
  const adminPort = portOf(started['admin']);
  await expectFromEveryWorker(dnsPort, adminPort, 'pool.example', RCODE.NXDOMAIN);

  writeConfig('refused');
  server.child.kill('SIGHUP');
  // The primary's line (each worker logs its own, relayed with a `worker` field), logged once every
  // worker has applied the reload.
  const primaryReloaded = (): Record<string, unknown> | undefined =>
    server?.logs.find((line) => line['msg'] === 'configuration reloaded' && line['worker'] === undefined);
  await until(() => primaryReloaded() !== undefined);
  expect(primaryReloaded()?.['applied']).toEqual(['block.response']);
  await expectFromEveryWorker(dnsPort, adminPort, 'pool.example', RCODE.REFUSED);

  upstream.setBehavior(behaviors.slow(400));
  const inflight = tcpExchange(dnsPort, [encodeQuery('slow.example')]);
  await upstream.waitForQueries(1);
  server.child.kill('SIGTERM');
  const [answered] = await inflight;
  expect(answered === undefined ? -1 : rcodeOf(answered)).toBe(RCODE.NOERROR);
  expect(await server.exited).toEqual({ code: 0, signal: null });
  expect(server.logs.map((line) => line['msg'])).toContain('poolsink stopped');
  expect(server.stderr()).toBe('');
});
