/**
 * Notifications end to end: real receivers on loopback (HTTP for webhook and Slack, syslog over UDP
 * and TCP), the real server, the outbox in a real SQLite file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { verifySignature } from '../../src/notify/signature.js';
import { udpExchange } from '../helpers/clients.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import {
  parseSyslogLine,
  startHttpReceiver,
  startTcpSyslog,
  startUdpSyslog,
  type HttpReceiver,
  type SyslogReceiver,
} from '../helpers/notify-receivers.js';
import { encodeQuery } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const SECRET = 'a-webhook-secret-of-some-length';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(): Promise<LocalUpstream> {
  const up = await startLocalUpstream();
  cleanups.push(() => up.close());
  return up;
}

async function receiver(port = 0): Promise<HttpReceiver> {
  const r = await startHttpReceiver(port);
  cleanups.push(() => r.close());
  return r;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-notify-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hook-secret'), `${SECRET}\n`);
  return dir;
}

async function stackWith(up: LocalUpstream, dir: string, notify: unknown[]): Promise<Stack> {
  const stack = await startStack({ upstreams: [up.address], dir, config: { notify } });
  cleanups.push(() => stack.close());
  return stack;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}

async function sinkStatus(stack: Stack, name: string): Promise<unknown> {
  const { body } = await stack.api('/api/v1/notify');
  const sinks = field(body, 'sinks');
  return Array.isArray(sinks) ? sinks.find((s: unknown) => field(s, 'name') === name) : undefined;
}

describe('sinks', () => {
  test('a test message reaches a webhook (signed, with its id), Slack and syslog over UDP and TCP', async () => {
    const up = await upstream();
    const dir = tempDir();
    const hook = await receiver();
    const slack = await receiver();
    const udp: SyslogReceiver = await startUdpSyslog();
    cleanups.push(() => udp.close());
    const tcp: SyslogReceiver = await startTcpSyslog();
    cleanups.push(() => tcp.close());
    const stack = await stackWith(up, dir, [
      { name: 'secops', type: 'webhook', url: hook.url, secretFile: 'hook-secret', events: ['incident.opened'] },
      { name: 'chat', type: 'slack', url: slack.url, events: ['incident.opened'] },
      { name: 'siem-udp', type: 'syslog', address: `127.0.0.1:${udp.port}`, events: ['list.failing'] },
      { name: 'siem-tcp', type: 'syslog', transport: 'tcp', address: `127.0.0.1:${tcp.port}`, events: ['test'] },
    ]);

    const ids: Record<string, string> = {};
    for (const name of ['secops', 'chat', 'siem-udp', 'siem-tcp']) {
      const answer = await stack.api(`/api/v1/notify/${name}/test`, { method: 'POST' });
      expect(answer.status).toBe(202);
      ids[name] = String(field(answer.body, 'id'));
    }
    await until(() => hook.posts.length === 1 && slack.posts.length === 1);
    await until(() => udp.lines.length === 1 && tcp.lines.length === 1);

    const post = hook.posts[0]!;
    expect(post.headers['x-poolsink-id']).toBe(ids.secops);
    const header = String(post.headers['x-poolsink-signature']);
    expect(verifySignature(SECRET, header, post.body, Math.floor(Date.now() / 1000))).toMatchObject({ ok: true });
    expect(verifySignature('another-secret-entirely', header, post.body, Math.floor(Date.now() / 1000)).ok).toBe(false);
    const payload: unknown = JSON.parse(post.body);
    expect(payload).toMatchObject({ id: ids.secops, type: 'test', data: { sink: 'secops' } });
    expect(Number.isNaN(Date.parse(String(field(payload, 'time'))))).toBe(false);

    const slackText = String(field(JSON.parse(slack.posts[0]!.body), 'text'));
    expect(slackText).toContain('poolsink test');
    expect(slackText).toContain(ids.chat);

    for (const [name, line] of [
      ['siem-udp', udp.lines[0]!],
      ['siem-tcp', tcp.lines[0]!],
    ] as const) {
      const parsed = parseSyslogLine(line);
      expect(parsed).toMatchObject({ version: 1, app: 'poolsink', msgId: 'test', pri: 16 * 8 + 6 });
      expect(parsed.sd).toBe(`[poolsink@32473 id="${ids[name]}" type="test"]`);
      expect(JSON.parse(parsed.msg)).toMatchObject({ id: ids[name], type: 'test', data: { sink: name } });
    }

    const status = await sinkStatus(stack, 'secops');
    expect(status).toMatchObject({ state: 'ok', queueDepth: 0 });
    expect((await stack.api('/api/v1/notify/nope/test', { method: 'POST' })).status).toBe(404);
  });

  test('an unreachable sink is reported (notify API, /healthz, /metrics) while DNS answers; after a restart it is delivered once', async () => {
    const up = await upstream();
    const dir = tempDir();
    // A port that was just free: nothing listens there until the receiver comes back.
    const probe = await startHttpReceiver();
    const port = probe.port;
    await probe.close();
    const sinks = [
      {
        name: 'secops',
        type: 'webhook',
        url: `http://127.0.0.1:${port}/hook`,
        secretFile: 'hook-secret',
        events: ['test'],
      },
    ];
    const first = await stackWith(up, dir, sinks);
    const queued = await first.api('/api/v1/notify/secops/test', { method: 'POST' });
    const id = String(field(queued.body, 'id'));

    await vitestUntilAsync(async () => field(await sinkStatus(first, 'secops'), 'state') === 'failing');
    const status = await sinkStatus(first, 'secops');
    expect(String(field(status, 'lastError'))).toMatch(/POST 127\.0\.0\.1:\d+ failed/);
    expect(field(status, 'queueDepth')).toBe(1);
    const health = await first.api('/healthz', { token: null });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', notify: [{ name: 'secops', ok: false }] });
    const metrics = String((await first.api('/metrics')).body);
    expect(metrics).toContain('poolsink_notify_queue_depth{sink="secops"} 1');
    const reply = await udpExchange(first.port, encodeQuery('example.org'));
    expect(reply).toBeDefined();

    await first.close();
    cleanups.splice(cleanups.length - 1, 1);
    const hook = await receiver(port);
    const second = await stackWith(up, dir, sinks);
    await until(() => hook.posts.length >= 1);
    await vitestUntilAsync(async () => field(await sinkStatus(second, 'secops'), 'delivered') === 1);
    expect(hook.posts.filter((p) => p.headers['x-poolsink-id'] === id)).toHaveLength(1);
    expect(hook.posts).toHaveLength(1);
    expect(await sinkStatus(second, 'secops')).toMatchObject({ state: 'ok', queueDepth: 0 });
  });
});

/** `until` for an asynchronous condition (an API answer). */
async function vitestUntilAsync(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  let last = false;
  let running = false;
  await until(() => {
    if (!running) {
      running = true;
      void condition().then((value) => {
        last = value;
        running = false;
      });
    }
    return last;
  }, timeoutMs);
}
