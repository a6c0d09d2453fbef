import { afterEach, describe, expect, test } from 'vitest';
import DNS from 'dns2';
import { startLocalUpstream, behaviors, type LocalUpstream } from '../helpers/local-upstream.js';
import { buildAnswer, readQuery, TYPE } from '../helpers/answers.js';
import { startStack, type Stack, type StackOptions } from '../helpers/stack.js';
import { dig, tcpExchange, udpExchange } from '../helpers/clients.js';
import { encodeQuery, findEde, rcodeOf } from '../helpers/packets.js';

const { TCPClient } = DNS;

const upstreams: LocalUpstream[] = [];
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function upstream(): Promise<LocalUpstream> {
  const u = await startLocalUpstream();
  upstreams.push(u);
  return u;
}

async function start(ups: readonly LocalUpstream[], options: Partial<StackOptions> = {}): Promise<Stack> {
  stack = await startStack({ upstreams: ups.map((u) => u.address), ...options });
  return stack;
}

/** A manual clock for cache ages: starts at a fixed instant, moved by tests. */
function manualClock() {
  let now = 1_700_000_000_000;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('forwarding', () => {
  test('the records are byte-for-byte the upstream ones (DNSSEC, unknown types), the ID restored, the OPT the client’s own', async () => {
    const up = await upstream();
    up.setBehavior(
      behaviors.answer({
        ad: true,
        answers: [
          { type: 'A', address: '203.0.113.1', ttl: 100 },
          { type: 'RRSIG', typeCovered: TYPE.A, signer: 'example.org', ttl: 100 },
          { type: 4242, rdata: Buffer.from('opaque-unknown-type') },
        ],
        edns: { udpSize: 1232, dnssecOk: true, options: [{ code: 10, data: Buffer.from('0123456789abcdef') }] },
      }),
    );
    const s = await start([up]);
    const query = encodeQuery('DNSSEC.Example.ORG', {
      id: 0x4242,
      edns: { udpSize: 1232, dnssecOk: true, options: Buffer.from([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]) },
      flags: 0x0110,
    });
    const reply = await udpExchange(s.port, query);
    expect(up.queries.length).toBe(1);
    const sent = up.queries[0]!;
    // Upstream saw the client's bytes exactly, except the ID and the client cookie (stripped by
    // default: it belongs to the client-poolsink hop; dns.ecs, SECURITY.md "Client EDNS options").
    const withoutCookie = encodeQuery('DNSSEC.Example.ORG', {
      id: 0x4242,
      edns: { udpSize: 1232, dnssecOk: true },
      flags: 0x0110,
    });
    expect(sent.bytes.subarray(2)).toEqual(withoutCookie.subarray(2));
    expect(sent.id).not.toBe(0x4242);
    const upstreamReply = up.replies[0]!.bytes;
    expect(reply).toBeDefined();
    expect(reply!.readUInt16BE(0)).toBe(0x4242);
    // The upstream's OPT (its cookie) ends its reply; the client's OPT (issue 17) ends ours:
    // poolsink's payload size, DO as asked, no options.
    const upstreamOptLen = 11 + 4 + 16;
    expect(reply!.subarray(2, reply!.length - 11)).toEqual(
      upstreamReply.subarray(2, upstreamReply.length - upstreamOptLen),
    );
    expect(reply!.subarray(reply!.length - 11)).toEqual(Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]));
  });

  test('the question keeps the client letter case, also from cache', async () => {
    const up = await upstream();
    // One resolver's own cache/coalescing: with dns.workers each process has its own.
    const s = await start([up], { singleProcess: true });
    const first = await dig(s.port, ['MiXeD.Example.COM']);
    const second = await dig(s.port, ['mixed.EXAMPLE.com']);
    expect(first.raw).toContain(';MiXeD.Example.COM.');
    expect(second.raw).toContain(';mixed.EXAMPLE.com.');
    expect(up.queries.length).toBe(1);
  });

  test('TCP: dns2 and kdig get answers; pipelined queries on one connection all answered', async () => {
    const up = await upstream();
    const s = await start([up]);
    const viaDns2 = await TCPClient({ dns: '127.0.0.1', port: s.port })('tcp.example', 'A');
    expect(viaDns2.answers[0]).toMatchObject({ address: expect.stringMatching(/^198\.51\.100\./) });
    const pipelined = await tcpExchange(s.port, [
      encodeQuery('a.example', { id: 1 }),
      encodeQuery('pool.example', { id: 2 }),
      encodeQuery('b.example', { id: 3 }),
    ]);
    expect(pipelined.map((r) => r.readUInt16BE(0)).sort()).toEqual([1, 2, 3]);
    const blocked = pipelined.find((r) => r.readUInt16BE(0) === 2)!;
    expect(rcodeOf(blocked)).toBe(3);
  });

  test('an answer too big for UDP is truncated (TC=1), and the client gets it whole over TCP', async () => {
    const up = await upstream();
    // Over 512 bytes, under dns.maxUdpPayload (1232).
    const txt = Array.from({ length: 10 }, (_, i) => `${i}-${'x'.repeat(90)}`);
    up.setBehavior(behaviors.answer({ answers: txt.map((text) => ({ type: 'TXT' as const, text })) }));
    const s = await start([up]);
    const truncated = await dig(s.port, ['big.example', 'TXT', '+ignore', '+noedns']);
    expect(truncated.flags).toContain('tc');
    expect(truncated.answers.length).toBe(0);
    const retried = await dig(s.port, ['big.example', 'TXT', '+noedns']);
    expect(retried.flags).not.toContain('tc');
    expect(retried.answers.length).toBe(10);
    expect(retried.raw).toContain('(TCP)');
    // EDNS with a big enough payload size gets it over UDP.
    const edns = await dig(s.port, ['big.example', 'TXT', '+bufsize=4096']);
    expect(edns.answers.length).toBe(10);
    expect(edns.raw).toContain('(UDP)');
  });

  test('truncated upstream answer is retried over TCP upstream', async () => {
    const up = await upstream();
    up.setBehavior((q) => (q.transport === 'udp' ? behaviors.truncated() : behaviors.normal()));
    const s = await start([up]);
    const result = await dig(s.port, ['tc.example']);
    expect(result.status).toBe('NOERROR');
    expect(result.answers.length).toBe(1);
    expect(up.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  test('upstream timeout → next upstream; all failing → SERVFAIL with EDE 22', async () => {
    const dead = await upstream();
    dead.setBehavior(behaviors.blackhole());
    const live = await upstream();
    const s = await start([dead, live]);
    const ok = await dig(s.port, ['failover.example']);
    expect(ok.status).toBe('NOERROR');
    expect(dead.queries.length).toBe(1);
    expect(live.queries.length).toBe(1);
    live.setBehavior(behaviors.servfail());
    const started = Date.now();
    const failed = await udpExchange(s.port, encodeQuery('uncached.example', { edns: {} }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(rcodeOf(failed!)).toBe(2);
    expect(findEde(failed!)?.code).toBe(22);
    expect(await s.outcome('servfail')).toBe(1);
  });

  test('identical queries in flight share one upstream query', async () => {
    const up = await upstream();
    up.setBehavior(behaviors.slow(150));
    // One resolver's own cache/coalescing: with dns.workers each process has its own.
    const s = await start([up], { singleProcess: true });
    const replies = await Promise.all(
      [1, 2, 3, 4, 5].map((id) => udpExchange(s.port, encodeQuery('Same.Example', { id }))),
    );
    expect(replies.map((r) => r?.readUInt16BE(0))).toEqual([1, 2, 3, 4, 5]);
    expect(up.queries.length).toBe(1);
    expect(s.poolsink.resolver.counters.coalesced).toBe(4);
  });
});

describe('cache', () => {
  test('a cache hit counts TTLs down and does not reach the upstream', async () => {
    const up = await upstream();
    const clock = manualClock();
    const s = await start([up], { clock: clock.now });
    const first = await dig(s.port, ['cached.example']);
    expect(first.answers[0]).toMatch(/^cached\.example\. 300 IN A /);
    clock.advance(100_500);
    const second = await dig(s.port, ['cached.example']);
    expect(second.answers[0]).toMatch(/^cached\.example\. 200 IN A /);
    expect(up.queries.length).toBe(1);
    clock.advance(200_000);
    await dig(s.port, ['cached.example']);
    expect(up.queries.length).toBe(2);
  });

  test('negative answers are cached for min(SOA TTL, SOA minimum)', async () => {
    const up = await upstream();
    const clock = manualClock();
    const s = await start([up], { clock: clock.now });
    expect((await dig(s.port, ['gone.nx.test'])).status).toBe('NXDOMAIN');
    clock.advance(29_000);
    expect((await dig(s.port, ['gone.nx.test'])).status).toBe('NXDOMAIN');
    expect(up.queries.length).toBe(1);
    clock.advance(2_000);
    expect((await dig(s.port, ['gone.nx.test'])).status).toBe('NXDOMAIN');
    expect(up.queries.length).toBe(2);
  });

  test('serve-stale: with every upstream down an expired answer is served with TTL 30', async () => {
    const up = await upstream();
    const clock = manualClock();
    const s = await start([up], { clock: clock.now });
    await dig(s.port, ['stale.example']);
    clock.advance(400_000);
    up.setBehavior(behaviors.blackhole());
    const stale = await dig(s.port, ['stale.example']);
    expect(stale.status).toBe('NOERROR');
    expect(stale.answers[0]).toMatch(/^stale\.example\. 30 IN A 198\.51\.100\./);
    expect(s.poolsink.resolver.counters.stale).toBe(1);
    clock.advance(86_400_000);
    const tooOld = await dig(s.port, ['stale.example']);
    expect(tooOld.status).toBe('SERVFAIL');
  });

  test('DO and plain queries are cached apart', async () => {
    const up = await upstream();
    // One resolver's own cache/coalescing: with dns.workers each process has its own.
    const s = await start([up], { singleProcess: true });
    await dig(s.port, ['do.example', '+dnssec']);
    await dig(s.port, ['do.example', '+noedns']);
    await dig(s.port, ['do.example', '+dnssec']);
    expect(up.queries.length).toBe(2);
    expect(readQuery(up.queries[0]!.bytes)?.qname).toBe('do.example');
    expect(buildAnswer).toBeTypeOf('function');
  });
});
