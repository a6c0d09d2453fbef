import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startLocalUpstream, behaviors, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack, type StackOptions } from '../helpers/stack.js';
import { dig, udpExchange } from '../helpers/clients.js';
import { encodeQuery, findEde, rcodeOf } from '../helpers/packets.js';

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

async function start(options: Partial<StackOptions> = {}): Promise<Stack> {
  stack = await startStack({
    upstreams: [upstream.address],
    lists: { 'mining-pools': { text: '# test list\npool.example\n*.wild.example\nminexmr.test\n' } },
    ...options,
  });
  return stack;
}

describe('blocking', () => {
  test('a listed name gets NXDOMAIN with SOA and EDE 15 naming the list; the upstream never sees it', async () => {
    const s = await start();
    const result = await dig(s.port, ['pool.example', 'A']);
    expect(result.status).toBe('NXDOMAIN');
    expect(result.authority[0]).toMatch(/^pool\.example\. 60 IN SOA poolsink\.invalid\. /);
    expect(result.ede).toContain('15 (Blocked)');
    expect(result.ede).toContain('mining-pools');
    expect(upstream.queries.length).toBe(0);
    expect(s.events).toMatchObject([
      {
        qname: 'pool.example',
        list: 'mining-pools',
        rule: 'pool.example',
        action: 'blocked',
        clientIp: '127.0.0.1',
        protocol: 'udp',
      },
    ]);
  });

  test.each([
    ['x.pool.example', 'NXDOMAIN'],
    ['a.b.c.POOL.Example', 'NXDOMAIN'],
    ['notpool.example', 'NOERROR'],
    ['pool.example.org', 'NOERROR'],
    ['wild.example', 'NOERROR'],
    ['x.wild.example', 'NXDOMAIN'],
  ])('%s → %s', async (name, status) => {
    const s = await start();
    expect((await dig(s.port, [name, 'A'])).status).toBe(status);
  });

  test('the allowlist wins over a blocked parent', async () => {
    const s = await start({ config: { allowlist: ['good.pool.example'] } });
    expect((await dig(s.port, ['good.pool.example'])).status).toBe('NOERROR');
    expect((await dig(s.port, ['x.good.pool.example'])).status).toBe('NOERROR');
    expect((await dig(s.port, ['bad.pool.example'])).status).toBe('NXDOMAIN');
  });

  test.each([
    ['nodata', 'A', 'NOERROR', 0, 1],
    ['null', 'A', 'NOERROR', 1, 0],
    ['null', 'AAAA', 'NOERROR', 1, 0],
    ['null', 'TXT', 'NOERROR', 0, 1],
    ['sinkhole', 'A', 'NOERROR', 1, 0],
    ['refused', 'A', 'REFUSED', 0, 0],
  ])('block.response %s to %s → %s, %i answers, %i authority', async (response, type, status, answers, authority) => {
    const s = await start({ config: { block: { response, sinkholeIpv4: '192.0.2.7', sinkholeIpv6: '100::7' } } });
    const result = await dig(s.port, ['pool.example', type]);
    expect(result.status).toBe(status);
    expect(result.answers.length).toBe(answers);
    expect(result.authority.length).toBe(authority);
    if (response === 'null' && type === 'A') expect(result.answers[0]).toBe('pool.example. 60 IN A 0.0.0.0');
    if (response === 'null' && type === 'AAAA') expect(result.answers[0]).toBe('pool.example. 60 IN AAAA ::');
    if (response === 'sinkhole') expect(result.answers[0]).toBe('pool.example. 60 IN A 192.0.2.7');
  });

  test('alert mode answers normally and records an alerted event', async () => {
    const s = await start({ lists: { trial: { text: 'pool.example\n', mode: 'alert' } } });
    const result = await dig(s.port, ['pool.example', 'A']);
    expect(result.status).toBe('NOERROR');
    expect(result.answers.length).toBe(1);
    expect(upstream.queries.length).toBe(1);
    expect(s.events).toMatchObject([{ qname: 'pool.example', list: 'trial', action: 'alerted', answer: 'forwarded' }]);
  });

  test('CNAME cloaking: an answer whose chain reaches a blocked name is blocked, also from cache', async () => {
    upstream.setBehavior((q) =>
      q.qname.toLowerCase() === 'innocent.example'
        ? behaviors.answer({
            answers: [
              { type: 'CNAME', name: q.qname, target: 'cdn.example' },
              { type: 'CNAME', name: 'cdn.example', target: 'x.pool.example' },
              { type: 'A', name: 'x.pool.example', address: '203.0.113.9' },
            ],
          })
        : behaviors.normal(),
    );
    // "also from cache": one resolver's cache (with dns.workers each process has its own).
    const s = await start({ singleProcess: true });
    const first = await dig(s.port, ['innocent.example', 'A']);
    expect(first.status).toBe('NXDOMAIN');
    expect(first.ede).toContain('mining-pools');
    const second = await dig(s.port, ['innocent.example', 'A']);
    expect(second.status).toBe('NXDOMAIN');
    expect(upstream.queries.length).toBe(1);
    expect(s.events.map((e) => e.via)).toEqual(['x.pool.example', 'x.pool.example']);
  });

  test('a list swap takes effect for the next query', async () => {
    const s = await start();
    expect((await dig(s.port, ['pool.example'])).status).toBe('NXDOMAIN');
    const { createMatcher } = await import('../../src/blocklist/matcher.js');
    const matcher = createMatcher([{ name: 'other', domains: ['other.example'], wildcards: [] }], []);
    s.poolsink.resolver.setMatcher(matcher);
    // dns.workers > 1: the resolver processes get it the way the list manager's swaps reach them.
    s.poolsink.workers?.setMatcher(matcher);
    await s.poolsink.workers?.synced();
    expect((await dig(s.port, ['pool.example'])).status).toBe('NOERROR');
    expect((await dig(s.port, ['other.example'])).status).toBe('NXDOMAIN');
  });
});

describe('cached answers and the lists (a hit under the same lists is not matched again)', () => {
  async function swapLists(s: Stack, domains: string[]): Promise<void> {
    const { createMatcher } = await import('../../src/blocklist/matcher.js');
    s.poolsink.resolver.setMatcher(createMatcher([{ name: 'swapped', domains, wildcards: [] }], []));
  }

  test('a name answered from the cache is blocked once a list swap adds it', async () => {
    const s = await start({ singleProcess: true });
    for (let i = 0; i < 3; i++) expect((await dig(s.port, ['cached.example'])).status).toBe('NOERROR');
    expect(upstream.queries.length).toBe(1);
    await swapLists(s, ['cached.example']);
    const blocked = await dig(s.port, ['cached.example']);
    expect(blocked.status).toBe('NXDOMAIN');
    expect(blocked.ede).toContain('swapped');
    await swapLists(s, ['other.example']);
    expect((await dig(s.port, ['cached.example'])).status).toBe('NOERROR');
    expect(upstream.queries.length).toBe(1);
  });

  test('a cached answer is cloaked once a list swap adds its CNAME target', async () => {
    upstream.setBehavior((q) =>
      q.qname.toLowerCase() === 'front.example'
        ? behaviors.answer({
            answers: [
              { type: 'CNAME', name: q.qname, target: 'edge.cdn.example' },
              { type: 'A', name: 'edge.cdn.example', address: '203.0.113.9' },
            ],
          })
        : behaviors.normal(),
    );
    const s = await start({ singleProcess: true });
    for (let i = 0; i < 3; i++) expect((await dig(s.port, ['front.example'])).status).toBe('NOERROR');
    await swapLists(s, ['cdn.example']);
    const cloaked = await dig(s.port, ['front.example']);
    expect(cloaked.status).toBe('NXDOMAIN');
    expect(upstream.queries.length).toBe(1);
    expect(s.events).toMatchObject([{ qname: 'front.example', list: 'swapped', via: 'edge.cdn.example' }]);
  });

  test('an alert-mode match is recorded for every answer from the cache', async () => {
    const s = await start({ singleProcess: true, lists: { trial: { text: 'pool.example\n', mode: 'alert' } } });
    for (let i = 0; i < 3; i++) expect((await dig(s.port, ['pool.example'])).status).toBe('NOERROR');
    expect(upstream.queries.length).toBe(1);
    expect(s.events.map((e) => e.action)).toEqual(['alerted', 'alerted', 'alerted']);
  });
});

describe('client ACL', () => {
  test('a client outside allowClients gets REFUSED with EDE 18 and is counted; an allowed one is served', async () => {
    const s = await start({ config: { dns: { listen: ['127.0.0.1:0'], allowClients: ['127.0.0.1/32'] } } });
    const refused = await udpExchange(s.port, encodeQuery('example.com', { edns: {} }), { bindAddress: '127.0.0.2' });
    expect(refused).toBeDefined();
    expect(rcodeOf(refused!)).toBe(5);
    expect(findEde(refused!)?.code).toBe(18);
    expect(await s.outcome('refused')).toBe(1);
    const viaDig = await dig(s.port, ['-b', '127.0.0.3', 'pool.example']);
    expect(viaDig.status).toBe('REFUSED');
    expect((await dig(s.port, ['example.com'])).status).toBe('NOERROR');
    expect(upstream.queries.length).toBe(1);
    expect(s.events.length).toBe(0);
  });
});
