import { describe, expect, test } from 'vitest';
import DNS from 'dns2';
import { buildAnswer, readQuery, TYPE, type AnswerSpec } from '../helpers/answers.js';
import { behaviors, defaultAnswer, defaultIpv4, defaultIpv6 } from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';
import { startHarness } from '../helpers/upstream-harness.js';

const { Packet } = DNS;

/** An EDNS cookie option (RFC 7873): must travel upstream untouched like everything else. */
const cookie = Buffer.concat([Buffer.from([0, 10, 0, 8]), Buffer.from('c00k1e!!')]);

describe('forwarding', () => {
  test('sends the client bytes unchanged except the ID and returns the reply byte for byte', async () => {
    const spec: AnswerSpec = {
      compress: true,
      ad: true,
      answers: [
        { type: 'CNAME', target: 'Edge.CDN.test', ttl: 120 },
        { type: 'RRSIG', typeCovered: TYPE.CNAME, signer: 'example.test', ttl: 120 },
        { type: 'A', name: 'Edge.CDN.test', address: '192.0.2.7', ttl: 30 },
      ],
      edns: { udpSize: 1232, dnssecOk: true, options: [{ code: 15, data: Buffer.from([0, 3]) }] },
    };
    const h = await startHarness({ upstreams: [behaviors.answer(spec)] });
    const query = encodeQuery('WwW.ExAmPlE.TeSt', {
      id: 0xbeef,
      edns: { udpSize: 4096, dnssecOk: true, options: cookie },
    });
    const original = Buffer.from(query);

    const result = await h.ask(query);

    const [seen] = h.upstreams[0]!.queries;
    expect(seen?.bytes.subarray(2)).toEqual(query.subarray(2));
    expect(seen?.dnssecOk).toBe(true);
    expect(seen?.udpSize).toBe(4096);
    expect(query).toEqual(original); // the pool sent a copy
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[0]!.address, viaTcp: false });
    if (result.kind !== 'answer' || seen === undefined) return;
    expect(result.response).toEqual(buildAnswer(seen, spec));
    expect(result.response.readUInt16BE(0)).toBe(seen.id);

    // An independent decoder reads the same answer.
    const decoded = Packet.parse(result.response);
    expect(decoded.questions[0]?.name).toBe('WwW.ExAmPlE.TeSt');
    expect(decoded.answers.map((a) => a.type)).toEqual([TYPE.CNAME, TYPE.RRSIG, TYPE.A]);
    expect(decoded.answers[2]?.address).toBe('192.0.2.7');
    expect(h.pool.stats).toMatchObject({ sent: 1, answered: 1, mismatched: 0, timeouts: 0 });
  });

  test('answers with the default zone for A, AAAA and NXDOMAIN names', async () => {
    const h = await startHarness({ upstreams: [behaviors.normal()] });
    const a = await h.ask(encodeQuery('Host.Example.test', { type: TYPE.A }));
    const aaaa = await h.ask(encodeQuery('host.example.test', { type: TYPE.AAAA }));
    const nx = await h.ask(encodeQuery('miner.NX.test'));
    if (a.kind !== 'answer' || aaaa.kind !== 'answer' || nx.kind !== 'answer') throw new Error('expected answers');
    expect(Packet.parse(a.response).answers[0]?.address).toBe(defaultIpv4('host.example.test'));
    expect(Packet.parse(aaaa.response).answers[0]?.address).toBe(defaultIpv6('host.example.test'));
    expect(nx.response[3]! & 0x0f).toBe(3);
  });

  test('uses a fresh random ID per query, not the client ID', async () => {
    const h = await startHarness({ upstreams: [behaviors.normal()] });
    await Promise.all(Array.from({ length: 16 }, (_, i) => h.ask(encodeQuery(`n${i}.test`, { id: 0x1234 }))));
    const ids = new Set(h.upstreams[0]!.queries.map((q) => q.id));
    // 16 draws from 65536 values: a repeat is possible, 8 distinct IDs or fewer is not.
    expect(ids.size).toBeGreaterThan(8);
    expect([...ids].every((id) => id === 0x1234)).toBe(false);
  });

  test('spreads queries over several source ports', async () => {
    const h = await startHarness({ upstreams: [behaviors.normal()], socketCount: 8 });
    await Promise.all(Array.from({ length: 32 }, (_, i) => h.ask(encodeQuery(`p${i}.test`))));
    const ports = new Set(h.upstreams[0]!.queries.map((q) => q.from.port));
    expect(ports.size).toBeGreaterThan(1);
  });

  test('replaces a socket (new source port) after socketMaxUses queries', async () => {
    const h = await startHarness({ upstreams: [behaviors.normal()], socketCount: 1, socketMaxUses: 2 });
    for (let i = 0; i < 6; i++) await h.ask(encodeQuery(`r${i}.test`));
    const ports = h.upstreams[0]!.queries.map((q) => q.from.port);
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).toBe(ports[3]);
    expect(ports[4]).toBe(ports[5]);
    expect(new Set(ports).size).toBe(3);
  });

  test('keeps a retired socket open until its pending query is answered', async () => {
    const h = await startHarness({ upstreams: [behaviors.slow(50)], socketCount: 1, socketMaxUses: 1 });
    // The first query retires its socket at once; its answer must still arrive on it.
    const results = await Promise.all([h.ask(encodeQuery('one.test')), h.ask(encodeQuery('two.test'))]);
    expect(results.map((r) => r.kind)).toEqual(['answer', 'answer']);
    const ports = h.upstreams[0]!.queries.map((q) => q.from.port);
    expect(new Set(ports).size).toBe(2);
  });

  test('forwards to an IPv6 upstream over udp6', async () => {
    const h = await startHarness({ upstreams: [{ host: '::1' }] });
    const result = await h.ask(encodeQuery('v6.test', { type: TYPE.AAAA }));
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[0]!.address });
    expect(h.upstreams[0]!.queries[0]?.from.address).toBe('::1');
    expect(h.pool.health()).toEqual([
      {
        upstream: `[::1]:${h.upstreams[0]!.port}`,
        consecutiveFailures: 0,
        failures: { timeout: 0, servfail: 0, refused: 0, error: 0 },
      },
    ]);
  });

  test('passes other rcodes (NXDOMAIN, NOTIMP) through as answers', async () => {
    const h = await startHarness({ upstreams: [behaviors.answer({ rcode: 4 }), behaviors.normal()] });
    const result = await h.ask(encodeQuery('x.test'));
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[0]!.address });
    expect(h.upstreams[1]!.queries).toHaveLength(0);
  });

  test('a query without a well-formed question fails with error, asynchronously', async () => {
    const h = await startHarness({ upstreams: [behaviors.normal()] });
    const query = encodeQuery('x.test');
    let result: unknown;
    const done = new Promise<void>((resolve) => {
      h.pool.query(query, 12, (r) => {
        result = r;
        resolve();
      });
    });
    expect(result).toBeUndefined();
    await done;
    expect(result).toMatchObject({ kind: 'failed', reason: 'error' });
  });

  test('the default answer echoes the question exactly as received', () => {
    const query = readQuery(encodeQuery('MiXeD.CaSe.test', { edns: { dnssecOk: true } }));
    if (query === undefined) throw new Error('unreadable');
    const answer = buildAnswer(query, defaultAnswer(query));
    expect(answer.subarray(12, 12 + query.question.length)).toEqual(query.question);
    expect(Packet.parse(answer).additionals[0]?.type).toBe(TYPE.OPT);
  });
});
