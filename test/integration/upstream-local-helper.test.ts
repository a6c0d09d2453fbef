/**
 * The local upstream test helper, checked with dig (an independent client) so that the answers
 * other tests rely on are real DNS.
 */
import { describe, expect, onTestFinished, test } from 'vitest';
import { dig } from '../helpers/clients.js';
import {
  behaviors,
  defaultIpv4,
  defaultIpv6,
  startLocalUpstream,
  type BehaviorChoice,
} from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';

async function upstreamWith(behavior?: BehaviorChoice) {
  const upstream = await startLocalUpstream(behavior === undefined ? {} : { behavior });
  onTestFinished(() => upstream.close());
  return upstream;
}

describe('local upstream helper', () => {
  test('default zone: A, AAAA, NXDOMAIN with SOA, NODATA', async () => {
    const upstream = await upstreamWith();
    const a = await dig(upstream.port, ['MiXeD.example.test', 'A']);
    expect(a.status).toBe('NOERROR');
    expect(a.answers).toEqual([`MiXeD.example.test. 300 IN A ${defaultIpv4('mixed.example.test')}`]);
    const aaaa = await dig(upstream.port, ['host.test', 'AAAA']);
    expect(aaaa.answers).toEqual([`host.test. 300 IN AAAA ${defaultIpv6('host.test')}`]);
    const nx = await dig(upstream.port, ['miner.nx.test']);
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.authority[0]).toMatch(/^nx\.test\. 60 IN SOA ns\.test\. hostmaster\.test\. 1 3600 600 86400 30$/);
    const mx = await dig(upstream.port, ['host.test', 'MX']);
    expect(mx.status).toBe('NOERROR');
    expect(mx.answers).toEqual([]);
    expect(upstream.queries.map((q) => q.qname)).toEqual([
      'MiXeD.example.test',
      'host.test',
      'miner.nx.test',
      'host.test',
    ]);
  });

  test('an answer too big for UDP is truncated, and dig gets it in full over TCP', async () => {
    const txt = Array.from({ length: 10 }, (_, i) => ({ type: 'TXT' as const, text: `${i}${'y'.repeat(120)}` }));
    const upstream = await upstreamWith(behaviors.answer({ answers: txt }));
    const result = await dig(upstream.port, ['big.test', 'TXT', '+noedns', '+ignore']);
    expect(result.flags).toContain('tc');
    const full = await dig(upstream.port, ['big.test', 'TXT', '+noedns']);
    expect(full.answers).toHaveLength(10);
    expect(upstream.queries.map((q) => q.transport)).toEqual(['udp', 'udp', 'tcp']);
  });

  test('EDNS is echoed with the DO bit, and records of any type can be built', async () => {
    const upstream = await upstreamWith(
      behaviors.answer({
        answers: [
          { type: 'CNAME', target: 'real.target.test' },
          { type: 'A', name: 'real.target.test', address: '192.0.2.9' },
          { type: 'RRSIG', name: 'real.target.test', typeCovered: 1, signer: 'target.test' },
          { type: 65, rdata: Buffer.from([0, 1, 0]) },
        ],
      }),
    );
    const result = await dig(upstream.port, ['alias.test', '+dnssec']);
    expect(result.raw).toMatch(/; EDNS: version: 0, flags: do; udp: 1232/);
    expect(result.answers[0]).toBe('alias.test. 300 IN CNAME real.target.test.');
    expect(result.answers[1]).toBe('real.target.test. 300 IN A 192.0.2.9');
    expect(result.answers[2]).toMatch(/^real\.target\.test\. 300 IN RRSIG A 13 2 300 /);
    expect(result.answers[3]).toMatch(/^alias\.test\. 300 IN (HTTPS|TYPE65) /);
    expect(upstream.queries[0]?.dnssecOk).toBe(true);
  });

  test.each<[string, BehaviorChoice, string]>([
    ['SERVFAIL', behaviors.servfail(), 'SERVFAIL'],
    ['REFUSED', behaviors.refused(), 'REFUSED'],
  ])('answers %s on request', async (_label, behavior, status) => {
    const upstream = await upstreamWith(behavior);
    expect((await dig(upstream.port, ['x.test'])).status).toBe(status);
  });

  test('waitForQueries resolves on arrival; blackhole and unreadable queries are recorded', async () => {
    const upstream = await upstreamWith(behaviors.blackhole());
    const arrived = upstream.waitForQueries(1);
    await upstream.sendUdp(Buffer.from('junk'), upstream.port);
    await upstream.sendUdp(encodeQuery('quiet.test'), upstream.port);
    expect((await arrived)[0]?.qname).toBe('quiet.test');
    expect(upstream.unreadable).toEqual([Buffer.from('junk')]);
    expect(upstream.replies).toHaveLength(2); // only the two sends above
  });
});
