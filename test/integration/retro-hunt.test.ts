/**
 * Retro-hunt (issue 13 part 3), all real parts: queries over UDP from loopback addresses to the real
 * server, forwarded to a local upstream, kept in the query history (history.enabled) in the real
 * SQLite file; then a runtime list added and a file list refreshed that hold names queried earlier
 * → an incident marked retro with the original query times, and its notification delivered to a
 * real webhook receiver. Also the on-demand POST /api/v1/retro-hunt and its 409 with history off.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { udpExchange } from '../helpers/clients.js';
import { runCli } from '../helpers/cli.js';
import { startLocalUpstream } from '../helpers/local-upstream.js';
import { startHttpReceiver, type HttpPost } from '../helpers/notify-receivers.js';
import { encodeQuery } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { untilAsync } from '../helpers/wait.js';

const MINER = '127.0.0.2';
const LATE = '127.0.0.3';
const BENIGN = '127.0.0.4';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function resolveFrom(stack: Stack, clientIp: string, qname: string): Promise<void> {
  const reply = await udpExchange(stack.port, encodeQuery(qname, { id: 7 }), { bindAddress: clientIp });
  if (reply === undefined) throw new Error(`no answer to ${qname} from ${clientIp}`);
  expect(reply.readUInt16BE(2) & 0x000f).toBe(0); // NOERROR: forwarded, not blocked
}

function data(post: HttpPost): Record<string, unknown> {
  const body: unknown = JSON.parse(post.body);
  if (!isRecord(body) || !isRecord(body['data'])) throw new Error(`not a notification: ${post.body}`);
  return { type: body['type'], ...body['data'] };
}

function retroOpenedFor(client: string) {
  return (post: HttpPost): boolean => {
    const message = data(post);
    return message['type'] === 'incident.opened' && message['client'] === client;
  };
}

async function hunt(stack: Stack, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await stack.api('/api/v1/retro-hunt', { method: 'POST', body });
  if (!isRecord(reply.body)) throw new Error('not a JSON object');
  return { status: reply.status, body: reply.body };
}

function clientsOf(body: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(body['clients']) ? body['clients'].filter(isRecord) : [];
}

test('names queried before any list had them: a runtime list and a file list refresh open retro incidents with the original times, notified', async () => {
  const upstream = await startLocalUpstream();
  cleanups.push(() => upstream.close());
  const receiver = await startHttpReceiver();
  cleanups.push(() => receiver.close());
  const stack = await startStack({
    upstreams: [upstream.address],
    lists: { pools: { text: 'pool.example\n' }, feed: { text: 'unrelated.example\n' } },
    config: {
      history: { enabled: true },
      notify: [{ name: 'secops', type: 'webhook', url: receiver.url, events: ['incident.opened'] }],
      lists: { fileSourceDir: '.' },
    },
  });
  cleanups.push(() => stack.close());

  const beforeMs = Date.now();
  await resolveFrom(stack, MINER, 'fresh-pool.test');
  await resolveFrom(stack, MINER, 'fresh-pool.test'); // a repeat: same (client, name, hour) row
  await resolveFrom(stack, LATE, 'eu.late-pool.test');
  await resolveFrom(stack, BENIGN, 'docs.benign.test');
  const afterMs = Date.now();

  // On demand, without recording: the history holds the queries (shipped in batches: poll).
  let found: Record<string, unknown>[] = [];
  await untilAsync(async () => {
    const reply = await hunt(stack, { names: ['fresh-pool.test', 'late-pool.test'] });
    found = clientsOf(reply.body);
    return reply.status === 200 && found.length === 2;
  });
  expect(found.map((c) => c['client']).sort()).toEqual([MINER, LATE]);
  const late = found.find((c) => c['client'] === LATE);
  expect(late).toMatchObject({ names: [{ qname: 'eu.late-pool.test', count: 1 }], count: 1 });
  const firstMs = Date.parse(String(late?.['firstTime']));
  expect(firstMs).toBeGreaterThanOrEqual(beforeMs);
  expect(firstMs).toBeLessThanOrEqual(afterMs);
  // record was not asked for: no incident yet.
  expect((await stack.api('/api/v1/incidents')).body).toMatchObject({ incidents: [] });
  // The same through the command line (the admin API of this server; the token file in its dataDir).
  const configFile = join(stack.dir, 'cli.yaml');
  writeFileSync(
    configFile,
    `dataDir: data\nupstreams: ['${upstream.address}']\nadmin:\n  listen: 127.0.0.1:${stack.poolsink.admin.address.port}\n`,
  );
  const cli = await runCli(['retro-hunt', '--config', configFile, '--since', '1h', 'late-pool.test']);
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  expect(cli.stdout).toContain(LATE);
  expect(cli.stdout).toContain('eu.late-pool.test');
  expect(cli.stdout).not.toContain(MINER);

  // 1. A runtime list holding a name MINER resolved earlier.
  writeFileSync(join(stack.dir, 'late-feed.txt'), 'fresh-pool.test\n');
  const addedMs = Date.now();
  const added = await stack.api('/api/v1/lists', {
    method: 'POST',
    body: { name: 'late-feed', source: join(stack.dir, 'late-feed.txt') },
  });
  expect(added.status).toBe(201);
  const opened = data(await receiver.next(retroOpenedFor(MINER)));
  expect(opened).toMatchObject({
    client: MINER,
    state: 'open',
    retro: true,
    names: [{ qname: 'fresh-pool.test', list: 'late-feed' }],
  });
  const openedFirst = Date.parse(String(opened['firstSeen']));
  expect(openedFirst).toBeGreaterThanOrEqual(beforeMs);
  expect(openedFirst).toBeLessThanOrEqual(afterMs);
  expect(openedFirst).toBeLessThanOrEqual(addedMs);

  // 2. A file list that gains a name LATE resolved (a subdomain of it), on refresh.
  writeFileSync(join(stack.dir, 'feed.txt'), 'unrelated.example\nlate-pool.test\n');
  const refreshed = await stack.api('/api/v1/lists/feed/refresh', { method: 'POST' });
  expect(refreshed.status).toBe(200);
  const lateOpened = data(await receiver.next(retroOpenedFor(LATE)));
  expect(lateOpened).toMatchObject({ retro: true, names: [{ qname: 'eu.late-pool.test', list: 'feed' }] });
  expect(Date.parse(String(lateOpened['firstSeen']))).toBeLessThanOrEqual(afterMs);

  // The incidents as the API shows them: marked retro, with the original times; none for BENIGN.
  const incidents = (await stack.api('/api/v1/incidents')).body;
  const rows =
    isRecord(incidents) && Array.isArray(incidents['incidents']) ? incidents['incidents'].filter(isRecord) : [];
  expect(rows.map((row) => row['clientIp']).sort()).toEqual([MINER, LATE]);
  for (const row of rows) {
    expect(row['retro']).toBe(true);
    expect(Date.parse(String(row['firstSeen']))).toBeLessThanOrEqual(afterMs);
    expect(Date.parse(String(row['lastSeen']))).toBeLessThanOrEqual(afterMs);
  }

  // On demand with record: true joins the open incident (no second one), and says so.
  const recorded = await hunt(stack, { names: ['fresh-pool.test'], record: true });
  expect(recorded).toMatchObject({ status: 200, body: { incidents: 1 } });
  const after = (await stack.api('/api/v1/incidents')).body;
  expect(isRecord(after) && Array.isArray(after['incidents']) ? after['incidents'].length : -1).toBe(2);
});

test('history off: nothing is recorded and a retro-hunt is 409 with the reason; bad bodies are 400 naming the field', async () => {
  const upstream = await startLocalUpstream();
  cleanups.push(() => upstream.close());
  const stack = await startStack({ upstreams: [upstream.address] });
  cleanups.push(() => stack.close());
  await resolveFrom(stack, MINER, 'fresh-pool.test');

  const refused = await hunt(stack, { names: ['fresh-pool.test'] });
  expect(refused.status).toBe(409);
  expect(JSON.stringify(refused.body)).toContain('history.enabled');
  const rows = stack.poolsink.store.db.prepare('SELECT count(*) AS n FROM query_history').get();
  expect(rows).toEqual({ n: 0 });

  const empty = await hunt(stack, { names: [] });
  expect(empty.status).toBe(400);
  expect(JSON.stringify(empty.body)).toContain('body.names');
  const notAName = await hunt(stack, { names: ['pool.example', 'no spaces\u0000here'] });
  expect(notAName.status).toBe(400);
  expect(JSON.stringify(notAName.body)).toContain('body.names[1]');
  const tooMany = await hunt(stack, { names: Array.from({ length: 1001 }, (_, i) => `p${i}.example`) });
  expect(tooMany.status).toBe(400);
  const unknownField = await hunt(stack, { names: ['pool.example'], everything: true });
  expect(unknownField.status).toBe(400);
});

test.each([
  [{ retainDays: 0 }, /history\.retainDays/],
  [{ maxRows: 10 }, /history\.maxRows/],
  [{ maxPerHour: 'lots' }, /history\.maxPerHour/],
  [{ enabled: 'yes' }, /history\.enabled/],
  [{ keepForever: true }, /history.*keepForever|keepForever/],
])('history %j is refused naming the field', (history, message) => {
  expect(() => validateConfig({ upstreams: ['127.0.0.1:53'], history }, tmpdir())).toThrow(message);
});
