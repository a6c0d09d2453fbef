/**
 * The dispatcher over a real SQLite file with an injected clock: the per-sink rate limit and its
 * digest, retries on the backoff schedule, and producers enqueueing directly (outbox.enqueue).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, test } from 'vitest';
import type { NotifySinkConfig } from '../../src/config/types.js';
import { createDispatcher, type Dispatcher } from '../../src/notify/dispatcher.js';
import { createNotificationOutbox } from '../../src/notify/outbox.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/notify-receivers.js';
import { until } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(perMinute: number, status = 200) {
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-dispatch-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const log = pino({ level: 'silent' });
  const connection: StoreConnection = openStoreConnection(join(dir, 'p.db'), { log });
  cleanups.push(() => connection.close());
  const hook: HttpReceiver = await startHttpReceiver(0, status);
  cleanups.push(() => hook.close());
  const sink: NotifySinkConfig = {
    name: 'secops',
    type: 'webhook',
    url: hook.url,
    headers: {},
    events: ['incident.opened'],
    timeoutMs: 5_000,
    perMinute,
  };
  let now = Date.UTC(2025, 0, 1);
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const dispatcher: Dispatcher = createDispatcher({
    database: () => connection.db,
    sinks: [sink],
    log,
    clock: clock.now,
    random: () => 0,
  });
  cleanups.push(() => dispatcher.close());
  const outbox = createNotificationOutbox({ sinks: [sink] });
  const enqueue = (host: string) =>
    connection.db.transaction(() =>
      outbox.enqueue(connection.db, { type: 'incident.opened', atMs: now, payload: { host: { name: host } } }),
    )();
  return { connection, hook, dispatcher, clock, enqueue };
}

test('over the rate limit: at most perMinute messages, then one digest of what was held', async () => {
  const { hook, dispatcher, clock, enqueue } = await setup(3);
  for (let i = 0; i < 10; i += 1) enqueue(i < 6 ? 'web-7' : `web-${i}`); // web-7 six times, then web-6 and web-7 again among the rest;
  dispatcher.kick();
  await until(() => dispatcher.status()[0]?.held === 7 && hook.posts.length === 3);
  expect(hook.posts.map((p) => JSON.parse(p.body).type)).toEqual([
    'incident.opened',
    'incident.opened',
    'incident.opened',
  ]);
  // Nothing more within the window.
  clock.advance(59_999);
  dispatcher.kick();
  await until(() => dispatcher.status()[0]?.queueDepth === 0);
  expect(hook.posts).toHaveLength(3);

  clock.advance(1);
  dispatcher.kick();
  await until(() => hook.posts.length === 4);
  const digest = JSON.parse(hook.posts[3]!.body);
  expect(digest).toMatchObject({
    type: 'notify.digest',
    data: { held: 7, byType: { 'incident.opened': 7 } },
  });
  expect(digest.data.topHosts[0]).toEqual({ host: 'web-7', count: 4 });
  expect(digest.data.summary).toContain('7 more notifications held');
  // One digest per window: the held rows are summarised, not sent again.
  clock.advance(120_000);
  dispatcher.kick();
  await until(() => dispatcher.status()[0]?.delivered === 4);
  expect(hook.posts).toHaveLength(4);
});

test('a failing receiver: retried on the backoff schedule, the same id each time, in order', async () => {
  const { hook, dispatcher, clock, enqueue, connection } = await setup(30, 503);
  enqueue('web-1');
  enqueue('web-2');
  dispatcher.kick();
  await until(() => hook.posts.length === 1 && dispatcher.status()[0]?.state === 'failing');
  expect(dispatcher.status()[0]).toMatchObject({ queueDepth: 2, lastError: expect.stringContaining('HTTP 503') });
  // random() = 0: the first retry is 500 ms out; the second message waits behind the first.
  clock.advance(499);
  dispatcher.kick();
  expect(hook.posts).toHaveLength(1);
  clock.advance(1);
  dispatcher.kick();
  await until(() => hook.posts.length === 2);
  expect(hook.posts[1]!.headers['x-poolsink-id']).toBe(hook.posts[0]!.headers['x-poolsink-id']);
  const row = connection.db
    .prepare<[], { attempts: number; lastError: string }>(
      'SELECT attempts, last_error AS lastError FROM outbox_deliveries ORDER BY outbox_id LIMIT 1',
    )
    .get();
  await until(() => dispatcher.status()[0]?.queueDepth === 2);
  expect(row?.lastError).toContain('HTTP 503');
  // 24 h later the delivery is given up.
  clock.advance(25 * 3_600_000);
  dispatcher.kick();
  await until(() => (dispatcher.status()[0]?.failed ?? 0) >= 1);
});
