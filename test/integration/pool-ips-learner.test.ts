/**
 * The pool IP learner against a local upstream: it resolves the names of the lists that opt in
 * (the bundled mining-pools list by default), learns public addresses only (never private,
 * loopback, CGNAT, CDN, shared or allowlisted ones), saves them in SQLite so a restart keeps them,
 * feeds response-IP blocking, and forgets them after expireAfterDays. TEST-NET addresses stand in
 * for public pool addresses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { behaviors, startLocalUpstream, type LocalUpstream, type ReceivedQuery } from '../helpers/local-upstream.js';
import { startListServer } from '../helpers/list-server.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dig } from '../helpers/clients.js';
import { until } from '../helpers/wait.js';
import type { PoolIpLearner } from '../../src/pool-ips/learner.js';

const A = 1;
const AAAA = 28;

/** name → [A addresses, AAAA addresses] */
const ZONE: Record<string, [string[], string[]]> = {
  'xmr.pool.example': [['198.51.100.10'], ['2001:db8::10']],
  'eu.pool.example': [['198.51.100.10', '198.51.100.11'], []],
  'lan.pool.example': [['10.0.0.5', '192.168.1.9'], ['fd00::5']],
  'cgnat.pool.example': [['100.64.1.1'], ['fe80::1']],
  'loop.pool.example': [['127.0.0.1'], ['::1']],
  'cdn.pool.example': [['104.16.1.1', '151.101.1.1'], ['2606:4700::1']],
  // One address, names under four domains: shared hosting.
  'a.one.example': [['203.0.113.50'], []],
  'b.two.example': [['203.0.113.50'], []],
  'c.three.example': [['203.0.113.50'], []],
  'd.four.example': [['203.0.113.50'], []],
  // A pool name pointing at the allowlisted name's address.
  'alsogood.pool2.example': [['203.0.113.77'], []],
  'good.example': [['203.0.113.77'], []],
  // A name of a list that did not opt in.
  'other.example': [['203.0.113.99'], []],
  // Not a pool name: what a fresh proxy name would answer.
  'fresh-proxy.test': [['198.51.100.10'], []],
};

function zone(q: ReceivedQuery) {
  const entry = ZONE[q.qname.toLowerCase()];
  if (entry === undefined) return behaviors.answer({ rcode: 3 });
  const addresses = q.qtype === A ? entry[0] : q.qtype === AAAA ? entry[1] : [];
  return behaviors.answer({
    answers: addresses.map((address) => ({ type: address.includes(':') ? 'AAAA' : 'A', address }) as const),
  });
}

const MINING_POOLS = [
  'xmr.pool.example',
  'eu.pool.example',
  'lan.pool.example',
  'cgnat.pool.example',
  'loop.pool.example',
  'cdn.pool.example',
  'a.one.example',
  'b.two.example',
  'c.three.example',
  'd.four.example',
  'alsogood.pool2.example',
  '*.wild.example',
].join('\n');

let upstream: LocalUpstream;
let stack: Stack | undefined;
let dir: string;

beforeEach(async () => {
  upstream = await startLocalUpstream({ behavior: zone });
  dir = mkdtempSync(join(tmpdir(), 'poolsink-poolips-'));
});
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(
  options: { clock?: () => number; mode?: string; lists?: Record<string, { text: string }>; intervalMs?: number } = {},
): Promise<Stack> {
  stack = await startStack({
    dir,
    upstreams: [upstream.address],
    lists: options.lists ?? { 'mining-pools': { text: MINING_POOLS }, other: { text: 'other.example\n' } },
    config: {
      allowlist: ['good.example'],
      lists: { allowPrivateSources: ['127.0.0.0/8'] },
      poolIps: {
        startDelayMs: 0,
        resolveIntervalMs: options.intervalMs ?? 3_600_000,
        maxQueriesPerSecond: 100,
        mode: options.mode ?? 'block',
      },
    },
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  return stack;
}

function learnerOf(s: Stack): PoolIpLearner {
  const learner = s.poolsink.poolIps.learner;
  if (learner === undefined) throw new Error('no learner');
  return learner;
}

function savedRows(): { address: string; name: string; list: string; last_seen_ms: number }[] {
  const db = new Database(join(dir, 'data', 'poolsink.db'), { readonly: true });
  try {
    return db.prepare('SELECT address, name, list, last_seen_ms FROM pool_ips ORDER BY address, name').all() as {
      address: string;
      name: string;
      list: string;
      last_seen_ms: number;
    }[];
  } finally {
    db.close();
  }
}

describe('pool IP learner', () => {
  test('learns the public addresses of opted-in list names, and nothing private, shared, CDN or allowlisted', async () => {
    const s = await start();
    const learner = learnerOf(s);
    await until(() => learner.status().rounds >= 1);
    expect(learner.addresses().map((entry) => entry.address)).toEqual([
      '198.51.100.10',
      '198.51.100.11',
      '2001:db8::10',
    ]);
    expect(learner.addresses()[0]).toMatchObject({
      list: 'mining-pools',
      names: ['eu.pool.example', 'xmr.pool.example'],
    });
    const asked = new Set(upstream.queries.map((q) => q.qname));
    expect(asked.has('other.example')).toBe(false); // its list did not opt in
    expect([...asked].some((name) => name.includes('wild.example'))).toBe(false); // wildcards name no host
    expect(asked.has('good.example')).toBe(true); // the allowlist is resolved, to exclude its addresses
    const status = learner.status();
    expect(status.excluded).toMatchObject({
      'not a public address': 7,
      'a shared CDN range': 3,
      shared: 1,
      allowlisted: 1,
    });
    // Saved: every sighting of a learnable address (shared ones too, so the count survives).
    await until(() => savedRows().length === 8);
    expect(savedRows().map((row) => row.address)).not.toContain('10.0.0.5');

    // Fed to response-IP blocking: a fresh name pointing at a learned address is blocked.
    const result = await dig(s.port, ['fresh-proxy.test', 'A']);
    expect(result.status).toBe('NXDOMAIN');
    expect(result.ede).toContain('learned-pool-ips');
    expect(s.events.at(-1)).toMatchObject({ list: 'learned-pool-ips', via: '198.51.100.10', action: 'blocked' });
  });

  test('a restart keeps the learned set (read from SQLite) and expireAfterDays forgets it', async () => {
    let s = await start({ mode: 'alert' });
    await until(() => learnerOf(s).status().rounds >= 1);
    await until(() => savedRows().length === 8);
    await s.close();
    stack = undefined;

    // Now the upstream fails every pool name: what is learned can only come from the database.
    upstream.setBehavior((q) => (q.qname === 'fresh-proxy.test' ? zone(q) : behaviors.servfail()));
    s = await start({ mode: 'alert' });
    expect(
      learnerOf(s)
        .addresses()
        .map((entry) => entry.address),
    ).toEqual(['198.51.100.10', '198.51.100.11', '2001:db8::10']);
    const result = await dig(s.port, ['fresh-proxy.test', 'A']);
    expect(result.status).toBe('NOERROR'); // alert mode: answered, recorded
    expect(s.events).toMatchObject([{ list: 'learned-pool-ips', action: 'alerted', via: '198.51.100.10' }]);
    await until(() => learnerOf(s).status().rounds >= 1);
    expect(learnerOf(s).addresses()).toHaveLength(3); // a failed round forgets nothing
    await s.close();
    stack = undefined;

    // Fifteen days later, not seen again: forgotten, in memory and on disk.
    const later = Date.now() + 15 * 86_400_000;
    s = await start({ clock: () => later });
    await until(() => learnerOf(s).status().rounds >= 1);
    expect(learnerOf(s).addresses()).toEqual([]);
    await until(() => savedRows().length === 0);
  });

  test('a runtime list added over the API with resolveForIps has its names resolved; one without does not', async () => {
    const feeds = await startListServer();
    try {
      feeds.set('/pools.txt', { body: 'xmr.pool.example\n' });
      feeds.set('/other.txt', { body: 'other.example\n' });
      // No configuration list opts in; rounds a second apart so the runtime lists are picked up.
      const s = await start({ lists: { quiet: { text: 'lan.pool.example\n' } }, intervalMs: 1_000 });
      const learner = learnerOf(s);
      const bad = await s.api('/api/v1/lists', {
        method: 'POST',
        body: { name: 'runtime-pools', source: feeds.url('/pools.txt'), resolveForIps: 'yes' },
      });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('body.resolveForIps');
      const plain = await s.api('/api/v1/lists', {
        method: 'POST',
        body: { name: 'runtime-other', source: feeds.url('/other.txt') },
      });
      expect(plain).toMatchObject({ status: 201, body: { list: { resolveForIps: false } } });
      const added = await s.api('/api/v1/lists', {
        method: 'POST',
        body: { name: 'runtime-pools', source: feeds.url('/pools.txt'), resolveForIps: true },
      });
      expect(added).toMatchObject({ status: 201, body: { list: { name: 'runtime-pools', resolveForIps: true } } });

      await until(() => learner.addresses().some((entry) => entry.list === 'runtime-pools'));
      expect(learner.addresses()).toMatchObject([
        { address: '198.51.100.10', list: 'runtime-pools', names: ['xmr.pool.example'] },
        { address: '2001:db8::10', list: 'runtime-pools', names: ['xmr.pool.example'] },
      ]);
      const asked = new Set(upstream.queries.map((q) => q.qname));
      expect(asked.has('other.example')).toBe(false); // runtime-other did not opt in
      expect(asked.has('lan.pool.example')).toBe(false); // nor did the configuration list

      // Kept across a restart (runtime_lists.resolve_for_ips), and a PATCH turns it off.
      await s.close();
      stack = undefined;
      const again = await start({ lists: { quiet: { text: 'lan.pool.example\n' } } });
      const { body } = await again.api('/api/v1/lists');
      const byName = new Map(
        (body as { lists: { name: string; resolveForIps: boolean }[] }).lists.map((l) => [l.name, l]),
      );
      expect(byName.get('runtime-pools')?.resolveForIps).toBe(true);
      expect(byName.get('runtime-other')?.resolveForIps).toBe(false);
      const patched = await again.api('/api/v1/lists/runtime-pools', {
        method: 'PATCH',
        body: { resolveForIps: false },
      });
      expect(patched).toMatchObject({ status: 200, body: { list: { resolveForIps: false } } });
      expect(again.poolsink.lists.namesToResolve()).toEqual([]);
    } finally {
      await feeds.close();
    }
  });
});
