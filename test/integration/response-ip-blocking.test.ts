/**
 * Response-IP blocking: forwarded answers whose A/AAAA addresses an `ip` list (read from a file)
 * covers are answered as blocked with EDE 15 naming the list, recorded, and not cached; the
 * allowlist wins for the name; alert-mode lists only record. Real stack, local upstream, dig.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { behaviors, defaultIpv4, startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack, type StackOptions } from '../helpers/stack.js';
import { until, untilAsync } from '../helpers/wait.js';
import { dig } from '../helpers/clients.js';
import { startListServer } from '../helpers/list-server.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let upstream: LocalUpstream;
let stack: Stack | undefined;

beforeEach(async () => {
  upstream = await startLocalUpstream();
});
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await upstream.close();
});

/** The local upstream answers every A with 198.51.100.x and every AAAA with 2001:db8::x. */
async function start(ipList: { text: string; mode?: string }, options: Partial<StackOptions> = {}): Promise<Stack> {
  stack = await startStack({
    upstreams: [upstream.address],
    lists: {
      'mining-pools': { text: 'pool.example\n' },
      'pool-ips': { format: 'ip', ...ipList },
    },
    ...options,
  });
  return stack;
}

describe('response-IP blocking', () => {
  test('an answer pointing at a listed network is blocked with EDE 15 naming the list, recorded, not cached', async () => {
    const s = await start({ text: '# pool ranges\n198.51.100.0/24\n' });
    const first = await dig(s.port, ['fresh-proxy.example', 'A']);
    expect(first.status).toBe('NXDOMAIN');
    expect(first.answers).toEqual([]);
    expect(first.ede).toContain('15 (Blocked)');
    expect(first.ede).toContain('pool-ips');
    const address = defaultIpv4('fresh-proxy.example');
    expect(s.events).toMatchObject([
      { qname: 'fresh-proxy.example', list: 'pool-ips', rule: '198.51.100.0/24', action: 'blocked', via: address },
    ]);
    // Not cached: the next query is forwarded (and blocked) again.
    expect((await dig(s.port, ['fresh-proxy.example', 'A'])).status).toBe('NXDOMAIN');
    expect(upstream.queries.filter((q) => q.qname === 'fresh-proxy.example')).toHaveLength(2);
    expect(s.events).toHaveLength(2);
    expect(await s.outcome('blocked')).toBe(2);
  });

  test('IPv6: an AAAA inside a listed prefix is blocked; addresses outside every entry pass', async () => {
    const s = await start({ text: '2001:db8::/32\n203.0.113.7\n' });
    const v6 = await dig(s.port, ['fresh-proxy.example', 'AAAA']);
    expect(v6.status).toBe('NXDOMAIN');
    expect(s.events[0]).toMatchObject({ list: 'pool-ips', rule: '2001:db8::/32', qtype: 28 });
    const v4 = await dig(s.port, ['fresh-proxy.example', 'A']);
    expect(v4.status).toBe('NOERROR');
    expect(v4.answers[0]).toContain(defaultIpv4('fresh-proxy.example'));
    expect(s.events).toHaveLength(1);
  });

  test('one listed address among several in the answer blocks it', async () => {
    upstream.setBehavior((q) =>
      q.qname === 'mixed.example'
        ? behaviors.answer({
            answers: [
              { type: 'A', name: q.qname, address: '192.0.2.10' },
              { type: 'A', name: q.qname, address: '203.0.113.7' },
            ],
          })
        : behaviors.normal(),
    );
    const s = await start({ text: '203.0.113.7\n' });
    expect((await dig(s.port, ['mixed.example', 'A'])).status).toBe('NXDOMAIN');
    expect(s.events[0]).toMatchObject({ rule: '203.0.113.7', via: '203.0.113.7' });
  });

  test('the allowlist wins for the name', async () => {
    const s = await start({ text: '198.51.100.0/24\n' }, { config: { allowlist: ['good.example'] } });
    const result = await dig(s.port, ['www.good.example', 'A']);
    expect(result.status).toBe('NOERROR');
    expect(result.answers[0]).toContain(defaultIpv4('www.good.example'));
    expect(s.events).toEqual([]);
  });

  test('an alert-mode ip list records the match and answers normally', async () => {
    const s = await start({ text: '198.51.100.0/24\n', mode: 'alert' });
    const result = await dig(s.port, ['fresh-proxy.example', 'A']);
    expect(result.status).toBe('NOERROR');
    expect(result.answers[0]).toContain(defaultIpv4('fresh-proxy.example'));
    expect(s.events).toMatchObject([{ list: 'pool-ips', action: 'alerted', answer: 'forwarded' }]);
    expect(await s.outcome('alerted')).toBe(1);
  });

  test('the ip list shows in the lists API with its entries', async () => {
    const s = await start({ text: '198.51.100.0/24\n203.0.113.7\nbad-line\n' });
    const { body } = await s.api('/api/v1/lists');
    expect(JSON.stringify(body)).toContain('"pool-ips"');
    const lists = (body as { lists: { name: string; format: string; entries: number; skipped: number }[] }).lists;
    expect(lists.find((l) => l.name === 'pool-ips')).toMatchObject({ format: 'ip', entries: 2, skipped: 1 });
    // Names are never matched against address entries.
    expect((await dig(s.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    expect(s.poolsink.resolver.matcher.size).toBe(1);
  });

  test('a URL ip list blocks after a restart offline, from its last known good copy', async () => {
    const lists = await startListServer();
    const dir = mkdtempSync(join(tmpdir(), 'poolsink-iplist-'));
    try {
      lists.set('/pool-ips.txt', { body: '# feed\n198.51.100.0/24  # pool range\n' });
      const options: StackOptions = {
        dir,
        upstreams: [upstream.address],
        lists: { 'mining-pools': { text: 'pool.example\n' } },
        config: {
          blocklists: [
            { name: 'mining-pools', source: join(dir, 'mining-pools.txt') },
            { name: 'pool-ips', source: lists.url('/pool-ips.txt'), format: 'ip' },
          ],
        },
      };
      stack = await startStack(options);
      const first = stack;
      await until(() => first.poolsink.lists.lists().some((l) => l.name === 'pool-ips' && l.entries === 1));
      await first.poolsink.workers?.synced(); // dns.workers > 1: every worker has the new list
      expect((await dig(first.port, ['fresh-proxy.example', 'A'])).status).toBe('NXDOMAIN');
      await first.close();
      stack = undefined;
      await lists.close();

      stack = await startStack(options); // the list server is gone: the copy in data/lists/ must do
      const info = stack.poolsink.lists.lists().find((l) => l.name === 'pool-ips');
      expect(info).toMatchObject({ format: 'ip', entries: 1, loadedFrom: 'last-known-good' });
      const result = await dig(stack.port, ['fresh-proxy.example', 'A']);
      expect(result.status).toBe('NXDOMAIN');
      expect(result.ede).toContain('pool-ips');
    } finally {
      await stack?.close();
      stack = undefined;
      await lists.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a runtime ip list (POST /api/v1/lists with format ip)', () => {
  test('added over the API, it blocks answers in its networks; a bad format is 400 naming the field', async () => {
    const s = await startStack({
      upstreams: [upstream.address],
      lists: { 'mining-pools': { text: 'pool.example\n' } },
      config: { lists: { fileSourceDir: '.' } },
    });
    stack = s;
    expect((await dig(s.port, ['fresh-proxy.example', 'A'])).status).toBe('NOERROR');
    writeFileSync(join(s.dir, 'runtime-ips.txt'), '198.51.100.0/24\nnot-an-address\n');
    const added = await s.api('/api/v1/lists', {
      method: 'POST',
      body: { name: 'runtime-ips', source: join(s.dir, 'runtime-ips.txt'), format: 'ip' },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ list: { name: 'runtime-ips', format: 'ip', origin: 'runtime', entries: 1 } });
    // With dns.workers the new ip list reaches the workers shortly after the 201: poll.
    let ede = '';
    await untilAsync(async () => {
      const blocked = await dig(s.port, ['other-proxy.example', 'A']);
      ede = blocked.ede ?? '';
      return blocked.status === 'NXDOMAIN';
    });
    expect(ede).toContain('runtime-ips');
    const bad = await s.api('/api/v1/lists', {
      method: 'POST',
      body: { name: 'bad-ips', source: join(s.dir, 'runtime-ips.txt'), format: 'cidr' },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('body.format');
  });
});
