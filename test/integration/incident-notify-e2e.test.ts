/**
 * Issue 10 end to end, all real parts: DNS queries from loopback addresses named by a CSV
 * inventory, the real server with its SQLite file, incidents, and a signed webhook delivered to a
 * real HTTP receiver on 127.0.0.1; a restart with the same data directory while the receiver is
 * down; operator changes over the admin API; a second sink that nothing answers.
 * Absence (no second `incident.opened`, no redelivery) is shown by a later message arriving:
 * a sink delivers one message at a time in outbox order.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { udpExchange } from '../helpers/clients.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startHttpReceiver, type HttpPost, type HttpReceiver } from '../helpers/notify-receivers.js';
import { encodeQuery } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { untilAsync } from '../helpers/wait.js';

const SECRET = 'e2e-webhook-secret-0123456789';
const WEB7 = '127.0.0.2';
const BUILD = '127.0.0.3';
const INVENTORY = [
  'ip,name,instanceId,account,region,tags',
  `${WEB7},web-7,i-0abc1234def567890,123456789012,us-east-1,team=payments`,
  `${BUILD},build-runner-3,i-0fed9876cba543210,123456789012,us-east-1,team=ci`,
  '',
].join('\n');
const LISTS = { pools: { text: 'pool.supportxmr.example\nminexmr.test\n' } };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What a receiver does with a POST, as README's Notifications section shows it. */
function verifiedAsReadmeSays(post: HttpPost): boolean {
  const header = String(post.headers['x-poolsink-signature'] ?? '');
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
  if (t === undefined || v1 === undefined) return false;
  const expected = createHmac('sha256', SECRET).update(`${t}.${post.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex')) && Math.abs(Date.now() / 1000 - Number(t)) <= 300;
}

interface Message {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly post: HttpPost;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(post: HttpPost): Message {
  const body: unknown = JSON.parse(post.body);
  if (!isRecord(body) || !isRecord(body['data'])) throw new Error(`not a notification: ${post.body}`);
  expect(post.headers['x-poolsink-id']).toBe(body['id']);
  return { id: String(body['id']), type: String(body['type']), data: body['data'], post };
}

/** The messages the receiver accepted (answered 2xx), in arrival order. */
function accepted(receiver: HttpReceiver): Message[] {
  return receiver.posts.filter((post) => post.status < 300).map(messageOf);
}

function isMessage(type: string, match: (data: Record<string, unknown>) => boolean = () => true) {
  return (post: HttpPost): boolean => {
    const message = messageOf(post);
    return message.type === type && match(message.data);
  };
}

async function blockedFrom(stack: Stack, clientIp: string, qname: string, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    const reply = await udpExchange(stack.port, encodeQuery(qname, { id: (i % 60_000) + 1 }), {
      bindAddress: clientIp,
    });
    if (reply === undefined) throw new Error(`no answer to ${qname} from ${clientIp}`);
  }
}

async function sinkStatus(stack: Stack, name: string): Promise<Record<string, unknown>> {
  const { body } = await stack.api('/api/v1/notify');
  const sinks = isRecord(body) && Array.isArray(body['sinks']) ? body['sinks'].filter(isRecord) : [];
  return sinks.find((sink) => sink['name'] === name) ?? {};
}

test('first block → one signed incident.opened; a flood → no second; a restart while the receiver is down → delivered once; resolve and recur; a dead sink is reported while DNS answers', async () => {
  const upstream: LocalUpstream = await startLocalUpstream();
  cleanups.push(() => upstream.close());
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-e2e-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hosts.csv'), INVENTORY);
  writeFileSync(join(dir, 'hook-secret'), `${SECRET}\n`);
  let receiver = await startHttpReceiver();
  cleanups.push(() => receiver.close());
  // A port that was just free: nothing answers there for the whole test.
  const probe = await startHttpReceiver();
  const deadPort = probe.port;
  await probe.close();
  const config = {
    // A row per query: the attempt counts below are read from the first escalation, which with
    // coalescing would count the 1,000 repeats only once their window ended.
    database: { coalesceWindowMs: 0 },
    hosts: { inventory: [{ source: 'hosts.csv' }] },
    notify: [
      {
        name: 'secops',
        type: 'webhook',
        url: receiver.url,
        secretFile: 'hook-secret',
        events: ['incident.opened', 'incident.escalated', 'incident.resolved'],
      },
      { name: 'dead', type: 'webhook', url: `http://127.0.0.1:${deadPort}/hook`, events: ['incident.opened'] },
    ],
  };
  const startServer = async (): Promise<Stack> => {
    const stack = await startStack({ upstreams: [upstream.address], lists: LISTS, dir, config });
    cleanups.push(() => stack.close());
    return stack;
  };
  let stack = await startServer();

  // 1. The first block from web-7: one incident.opened, signed, naming the host and the pool.
  await blockedFrom(stack, WEB7, 'pool.supportxmr.example');
  const opened = messageOf(await receiver.next(isMessage('incident.opened')));
  expect(verifiedAsReadmeSays(opened.post)).toBe(true);
  expect(opened.data).toMatchObject({
    client: WEB7,
    state: 'open',
    identity: { source: 'inventory', name: 'web-7', instanceId: 'i-0abc1234def567890', tags: { team: 'payments' } },
    names: [{ qname: 'pool.supportxmr.example', list: 'pools', count: 1 }],
    previousId: null,
  });
  const firstId = Number(opened.data['id']);

  // 2. 1,000 more blocks, then a new pool name: escalated arrives after them, and still one opened.
  await blockedFrom(stack, WEB7, 'pool.supportxmr.example', 1000);
  await blockedFrom(stack, WEB7, 'minexmr.test');
  await receiver.next(isMessage('incident.escalated', (data) => data['distinctNames'] === 2));
  const firstMessages = accepted(receiver);
  expect(firstMessages.map((m) => m.type)).toEqual([
    'incident.opened',
    ...firstMessages.slice(1).map(() => 'incident.escalated'),
  ]);
  expect(firstMessages.every((m) => m.data['id'] === firstId && verifiedAsReadmeSays(m.post))).toBe(true);
  const levels = firstMessages.map((m) => Number(m.data['escalationLevel']));
  expect(levels).toEqual([...levels].sort((a, b) => a - b)); // delivered in the order they were made
  const last = firstMessages.at(-1);
  expect(last?.data).toMatchObject({ attempts: 1002, distinctNames: 2 });
  expect(JSON.stringify(last?.data['names'])).toContain('minexmr.test');
  expect(new Set(firstMessages.map((m) => m.id)).size).toBe(firstMessages.length);

  // 3. The receiver fails, then is down while poolsink restarts; a second host's incident is
  //    delivered once it is back.
  receiver.answerWith(500);
  await blockedFrom(stack, BUILD, 'minexmr.test');
  const refused = messageOf(await receiver.next((post) => post.status === 500));
  expect(refused).toMatchObject({
    type: 'incident.opened',
    data: { client: BUILD, identity: { name: 'build-runner-3' } },
  });
  await stack.close();
  cleanups.splice(cleanups.length - 1, 1);
  const port = receiver.port;
  await receiver.close();
  stack = await startServer();
  receiver = await startHttpReceiver(port);
  const redelivered = await receiver.next((post) => messageOf(post).id === refused.id);
  expect(redelivered.status).toBe(200);
  expect(verifiedAsReadmeSays(redelivered)).toBe(true);

  // 4. Acknowledge and resolve web-7's incident over the API: incident.resolved; web-7 again:
  //    a new incident naming the resolved one, and a new incident.opened.
  const ack = await stack.api(`/api/v1/incidents/${firstId}/acknowledge`, { method: 'POST', body: { note: 'on it' } });
  expect(ack).toMatchObject({ status: 200, body: { state: 'acknowledged' } });
  const resolve = await stack.api(`/api/v1/incidents/${firstId}/resolve`, {
    method: 'POST',
    body: { note: 'web-7 reimaged' },
  });
  expect(resolve).toMatchObject({ status: 200, body: { state: 'resolved' } });
  const resolved = messageOf(await receiver.next(isMessage('incident.resolved')));
  expect(resolved.data).toMatchObject({
    id: firstId,
    state: 'resolved',
    note: 'web-7 reimaged',
    resolvedBy: 'operator',
    identity: { name: 'web-7' },
  });
  await blockedFrom(stack, WEB7, 'pool.supportxmr.example');
  const recurrence = messageOf(
    await receiver.next(isMessage('incident.opened', (data) => data['previousId'] === firstId)),
  );
  expect(recurrence.data).toMatchObject({ client: WEB7, state: 'open', attempts: 1, identity: { name: 'web-7' } });
  expect(Number(recurrence.data['id'])).toBeGreaterThan(firstId);
  const incidents = await stack.api(`/api/v1/incidents?client=${WEB7}`);
  expect(incidents.body).toMatchObject({
    incidents: [
      { id: recurrence.data['id'], state: 'open', previousId: firstId },
      { id: firstId, state: 'resolved' },
    ],
  });

  // Across the restart: every message accepted exactly once, the second host's opened among them.
  const all = accepted(receiver);
  expect(all.map((m) => m.type)).toEqual(['incident.opened', 'incident.resolved', 'incident.opened']);
  const everyId = [...firstMessages, ...all].map((m) => m.id);
  expect(new Set(everyId).size).toBe(everyId.length);
  expect(receiver.posts.filter((post) => messageOf(post).id === refused.id)).toHaveLength(1);

  // 5. The sink nobody answers: its error in the notify API and /healthz; DNS keeps answering.
  await untilAsync(async () => (await sinkStatus(stack, 'dead'))['state'] === 'failing');
  const dead = await sinkStatus(stack, 'dead');
  expect(String(dead['lastError'])).toMatch(/POST 127\.0\.0\.1:\d+ failed/);
  expect(Number(dead['queueDepth'])).toBeGreaterThanOrEqual(1);
  expect(await sinkStatus(stack, 'secops')).toMatchObject({ state: 'ok' });
  const health = await stack.api('/healthz', { token: null });
  expect(health).toMatchObject({
    status: 200,
    body: {
      status: 'degraded',
      notify: [
        { name: 'secops', ok: true },
        { name: 'dead', ok: false },
      ],
    },
  });
  expect(await udpExchange(stack.port, encodeQuery('example.org'))).toBeDefined();
  await blockedFrom(stack, BUILD, 'pool.supportxmr.example');
}, 90_000);

test('incidents.enabled: false keeps the block log only (the bench compares against it)', async () => {
  const upstream = await startLocalUpstream();
  cleanups.push(() => upstream.close());
  const stack = await startStack({
    upstreams: [upstream.address],
    lists: LISTS,
    config: { incidents: { enabled: false } },
  });
  cleanups.push(() => stack.close());
  await blockedFrom(stack, WEB7, 'pool.supportxmr.example');
  stack.poolsink.eventWriter.flush();
  await untilAsync(async () => {
    const { body } = await stack.api(`/api/v1/events?client=${WEB7}`);
    return isRecord(body) && Array.isArray(body['events']) && body['events'].length === 1;
  });
  expect((await stack.api(`/api/v1/events?client=${WEB7}`)).body).toMatchObject({ events: [{ incidentId: null }] });
  expect((await stack.api('/api/v1/incidents')).body).toMatchObject({ incidents: [] });
});
