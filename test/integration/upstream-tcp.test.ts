import { describe, expect, test } from 'vitest';
import DNS from 'dns2';
import { buildAnswer, TYPE, type AnswerSpec } from '../helpers/answers.js';
import { behaviors } from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';
import { startHarness } from '../helpers/upstream-harness.js';

const { Packet } = DNS;

/** About 2.3 KB of TXT: more than 512 bytes, less than a 4096-byte EDNS buffer. */
const bigTxt: AnswerSpec = {
  answers: Array.from({ length: 12 }, (_, i) => ({ type: 'TXT' as const, text: `${i}:${'x'.repeat(180)}` })),
};

describe('TCP retry of truncated answers', () => {
  test('a TC=1 UDP answer is retried over TCP and the full answer returned', async () => {
    const h = await startHarness({ upstreams: [behaviors.answer(bigTxt)] });
    const result = await h.ask(encodeQuery('Big.Txt.test', { type: TYPE.TXT }));

    const [udpQuery, tcpQuery] = h.upstreams[0]!.queries;
    expect([udpQuery?.transport, tcpQuery?.transport]).toEqual(['udp', 'tcp']);
    expect(h.upstreams[0]!.replies[0]!.bytes[2]! & 0x02).toBe(0x02); // the UDP answer was truncated
    expect(tcpQuery?.bytes).toEqual(udpQuery?.bytes); // the same message, the same ID
    expect(result).toMatchObject({ kind: 'answer', viaTcp: true, upstream: h.upstreams[0]!.address });
    if (result.kind !== 'answer' || tcpQuery === undefined) return;
    expect(result.response).toEqual(buildAnswer(tcpQuery, bigTxt));
    expect(Packet.parse(result.response).answers).toHaveLength(12);
    expect(h.pool.stats).toMatchObject({ sent: 2, answered: 1, tcpRetries: 1, mismatched: 0 });
  });

  test('no retry when the answer fits the query EDNS buffer', async () => {
    const h = await startHarness({ upstreams: [behaviors.answer(bigTxt)] });
    const result = await h.ask(encodeQuery('big.txt.test', { type: TYPE.TXT, edns: { udpSize: 4096 } }));
    expect(result).toMatchObject({ kind: 'answer', viaTcp: false });
    expect(h.pool.stats.tcpRetries).toBe(0);
  });

  test('a TCP connection closed without an answer moves on to the next upstream', async () => {
    const h = await startHarness({
      upstreams: [(q) => (q.transport === 'udp' ? behaviors.truncated() : { kind: 'close' }), behaviors.normal()],
    });
    const result = await h.ask(encodeQuery('closed.test'));
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[1]!.address, viaTcp: false });
    expect(h.pool.stats).toMatchObject({ tcpRetries: 1, errors: 1 });
    const warning = h.logs.find((l) => l.msg === 'upstream socket error');
    expect(warning).toMatchObject({ level: 40, upstream: h.upstreams[0]!.address, err: expect.any(Object) });
  });

  test('a TCP retry that gets no answer times out with the same timeout, then fails over', async () => {
    const h = await startHarness({
      upstreams: [
        (q) => (q.transport === 'udp' ? behaviors.truncated() : behaviors.blackhole()),
        behaviors.blackhole(),
      ],
      timeoutMs: 100,
    });
    const result = await h.ask(encodeQuery('tcp-silent.test'));
    expect(result).toMatchObject({ kind: 'failed', reason: 'timeout' });
    expect(h.pool.stats).toMatchObject({ timeouts: 2, tcpRetries: 1 });
    expect(h.pool.health()[0]?.lastError).toContain('over tcp');
  });

  test('SERVFAIL over TCP moves on to the next upstream', async () => {
    const h = await startHarness({
      upstreams: [(q) => (q.transport === 'udp' ? behaviors.truncated() : behaviors.servfail()), behaviors.normal()],
    });
    const result = await h.ask(encodeQuery('tcp-servfail.test'));
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[1]!.address });
  });
});
