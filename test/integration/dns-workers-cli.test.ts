/**
 * dns.workers 2 through the real command line (`node dist/cli.js serve`): SIGHUP reloads the
 * configuration in the primary and every resolver process (a changed block answer is what each
 * worker sends), and SIGTERM drains the workers (a query waiting on a slow upstream is answered)
 * before the process exits 0.
 */
import { request } from 'undici';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { RCODE } from '../helpers/answers.js';
import { openServeSandbox, portOf, type ServeSandbox } from '../helpers/cli-serve.js';
import { tcpExchange } from '../helpers/clients.js';
import { behaviors } from '../helpers/local-upstream.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'workers-cli-test-token';

let sandbox: ServeSandbox;

beforeEach(async () => {
  sandbox = await openServeSandbox('poolsink-workers-cli-');
});

afterEach(() => sandbox.close());

function writeConfig(blockResponse: string): string {
  return sandbox.writeConfig({
    dns: ', workers: 2',
    admin: `, token: ${TOKEN}`,
    rest: `block: { response: ${blockResponse} }\n`,
  });
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
  const server = sandbox.serve(config);
  const started = await server.waitForLog('poolsink started');
  const dnsPort = portOf(started['listen']);
  const adminPort = portOf(started['admin']);
  await expectFromEveryWorker(dnsPort, adminPort, 'pool.example', RCODE.NXDOMAIN);

  writeConfig('refused');
  server.child.kill('SIGHUP');
  // The primary's line (each worker logs its own, relayed with a `worker` field), logged once every
  // worker has applied the reload.
  const primaryReloaded = (): Record<string, unknown> | undefined =>
    server.logs.find((line) => line['msg'] === 'configuration reloaded' && line['worker'] === undefined);
  await until(() => primaryReloaded() !== undefined);
  expect(primaryReloaded()?.['applied']).toEqual(['block.response']);
  await expectFromEveryWorker(dnsPort, adminPort, 'pool.example', RCODE.REFUSED);

  const { upstream } = sandbox;
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
