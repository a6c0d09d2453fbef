/**
 * dns.workers 2 against real sockets: both resolver processes answer (TCP connections go
 * round-robin, so a handful of connections reach both), a runtime list, an allowlist entry and a
 * reload reach every worker, both workers' block events reach the block log, /metrics sums the
 * workers, a killed worker is forked again, and closing drains queries in flight.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { tcpExchange } from '../helpers/clients.js';
import { startListServer, type ListServer } from '../helpers/list-server.js';
import { behaviors, startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';
import { RCODE } from '../helpers/answers.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

let upstream: LocalUpstream;
let listServer: ListServer;
let stack: Stack;

beforeEach(async () => {
  upstream = await startLocalUpstream();
  listServer = await startListServer();
  stack = await startStack({
    upstreams: [upstream.address],
    config: { dns: { listen: ['127.0.0.1:0'], workers: 2 }, lists: { allowPrivateSources: ['127.0.0.0/8'] } },
  });
});

afterEach(async () => {
  await stack.close();
  await upstream.close();
  await listServer.close();
});

/** One query on a new TCP connection (the primary hands each connection to the next worker). */
async function rcodeOverTcp(name: string): Promise<number> {
  const [reply] = await tcpExchange(stack.port, [encodeQuery(name)]);
  if (reply === undefined) throw new Error(`no answer for ${name}`);
  return rcodeOf(reply);
}

async function metrics(): Promise<string> {
  const response = await stack.api('/metrics');
  expect(response.status).toBe(200);
  return String(response.body);
}

/** poolsink_worker_queries_total per worker id. */
async function queriesPerWorker(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const match of (await metrics()).matchAll(/^poolsink_worker_queries_total\{worker="(\d+)"\} (\d+)$/gm)) {
    counts.set(match[1] ?? '', Number(match[2]));
  }
  return counts;
}

/**
 * Queries `name` on new connections until each worker has answered at least one since the call;
 * every answer must have `rcode`. Returns how many queries that took.
 */
async function expectFromEveryWorker(name: string, rcode: number): Promise<number> {
  const before = await queriesPerWorker();
  for (let sent = 1; sent <= 40; sent++) {
    expect(await rcodeOverTcp(name)).toBe(rcode);
    const now = await queriesPerWorker();
    const rose = ['0', '1'].every((worker) => (now.get(worker) ?? 0) > (before.get(worker) ?? 0));
    if (rose) return sent;
  }
  throw new Error(`not every worker answered ${name}`);
}

describe('dns.workers 2', () => {
  test('two workers serve; both answer queries and the sums add up', async () => {
    expect(stack.poolsink.workers?.workers()).toHaveLength(2);
    const sent = await expectFromEveryWorker('pool.example', RCODE.NXDOMAIN);
    await expectFromEveryWorker('fine.example', RCODE.NOERROR);
    const perWorker = await queriesPerWorker();
    const total = [...perWorker.values()].reduce((sum, count) => sum + count, 0);
    const text = await metrics();
    const udp = Number(/^poolsink_dns_queries_total\{protocol="udp"\} (\d+)$/m.exec(text)?.[1]);
    const tcp = Number(/^poolsink_dns_queries_total\{protocol="tcp"\} (\d+)$/m.exec(text)?.[1]);
    expect(udp + tcp).toBe(total);
    // The forwarded answers' latency histograms are summed over both workers too.
    const answered = Number(
      /^poolsink_dns_answer_duration_seconds_count\{outcome="answered"\} (\d+)$/m.exec(text)?.[1],
    );
    expect(answered).toBeGreaterThanOrEqual(1);
    // Blocked queries from both workers reach the primary (the test observer) and the block log.
    await until(() => stack.events.length >= sent);
    expect(stack.events.every((event) => event.qname === 'pool.example' && event.protocol === 'tcp')).toBe(true);
    await until(() => stack.poolsink.eventWriter.stats.written >= sent);
  });

  test('an allowlist entry and a runtime list are in effect on every worker when the API answers', async () => {
    const allowed = await stack.api('/api/v1/allowlist', { method: 'POST', body: { domain: 'pool.example' } });
    expect(allowed.status).toBe(201);
    await expectFromEveryWorker('pool.example', RCODE.NOERROR);

    listServer.set('/feed.txt', { body: 'feed-pool.example\n' });
    const added = await stack.api('/api/v1/lists', {
      method: 'POST',
      body: { name: 'feed', source: listServer.url('/feed.txt') },
    });
    expect(added.status).toBe(201);
    await expectFromEveryWorker('x.feed-pool.example', RCODE.NXDOMAIN);
    // The lists reach the workers as image files in the data directory: superseded ones, once
    // read by every worker, are removed, and closing removes the last.
    const images = join(stack.dir, 'data', 'worker-lists');
    await until(() => readdirSync(images).length === 1);
    await stack.poolsink.close();
    expect(existsSync(images)).toBe(false);
  });

  test('a killed worker is forked again and serves', async () => {
    const pool = stack.poolsink.workers;
    if (pool === undefined) throw new Error('no worker pool');
    const [first] = pool.workers();
    if (first === undefined) throw new Error('no worker');
    process.kill(first.pid, 'SIGKILL');
    await until(() => pool.workers().some((w) => w.workerId === first.workerId && w.pid !== first.pid));
    expect(pool.workers().find((w) => w.workerId === first.workerId)?.starts).toBe(2);
    await expectFromEveryWorker('pool.example', RCODE.NXDOMAIN);
  });

  test('close drains: a query waiting on a slow upstream is still answered', async () => {
    upstream.setBehavior(behaviors.slow(150));
    const answer = tcpExchange(stack.port, [encodeQuery('slow.example')]);
    await upstream.waitForQueries(1);
    await stack.poolsink.close();
    const [reply] = await answer;
    expect(reply === undefined ? -1 : rcodeOf(reply)).toBe(RCODE.NOERROR);
    expect(stack.poolsink.workers?.workers()).toEqual([]);
  });
});
