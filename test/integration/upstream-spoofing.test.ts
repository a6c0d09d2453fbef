import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, onTestFinished, test } from 'vitest';
import { RCODE, buildAnswer, readQuery, withId, type QueryInfo } from '../helpers/answers.js';
import { behaviors, defaultAnswer, type ReceivedQuery } from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';
import { startHarness } from '../helpers/upstream-harness.js';
import { until } from '../helpers/wait.js';

async function openSpoofer(): Promise<Socket> {
  const socket = createSocket('udp4');
  onTestFinished(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return socket;
}

function sendFrom(socket: Socket, bytes: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
}

/** The question of `q`, asked about another name / type / class. */
function otherQuestion(q: ReceivedQuery, change: { name?: string; type?: number; qclass?: number }): QueryInfo {
  const other = readQuery(
    encodeQuery(change.name ?? q.qname, { id: q.id, type: change.type ?? q.qtype, qclass: change.qclass ?? q.qclass }),
  );
  if (other === undefined) throw new Error('unreadable');
  return other;
}

describe('anti-spoofing', () => {
  test('drops replies with a wrong source, ID or question, and still accepts the real answer', async () => {
    // The first upstream never answers by itself: the test answers for it, after the spoofs.
    const h = await startHarness({ upstreams: [behaviors.blackhole(), behaviors.normal()], timeoutMs: 3000 });
    const [upstream, backup] = h.upstreams;
    const pending = h.ask(encodeQuery('Spoof.Target.test', { id: 7 }));
    const [q] = await upstream!.waitForQueries(1);
    if (q === undefined) throw new Error('no query');
    const real = buildAnswer(q, defaultAnswer(q));
    const servfail = buildAnswer(q, { rcode: RCODE.SERVFAIL });
    const notResponse = Buffer.from(real);
    notResponse[2] = notResponse[2]! & 0x7f; // QR=0

    // From the right address but another port: even a right-looking SERVFAIL must not fail over.
    const spoofer = await openSpoofer();
    for (const bytes of [real, servfail, buildAnswer(q, { rcode: RCODE.REFUSED })])
      await sendFrom(spoofer, bytes, q.from.port);

    // From the upstream's own address and port, but wrong.
    const wrong = [
      withId(real, q.id ^ 0x8000),
      buildAnswer(otherQuestion(q, { name: 'other.target.test' })),
      buildAnswer(otherQuestion(q, { name: 'Spoof.Target.test.evil' })),
      buildAnswer(otherQuestion(q, { type: 28 })),
      buildAnswer(otherQuestion(q, { qclass: 3 })),
      notResponse,
      real.subarray(0, real.length - 2), // record cut short
      Buffer.concat([real, Buffer.from([0])]), // trailing garbage
      real.subarray(0, 12), // header only
      real.subarray(0, 1),
      Buffer.concat([real.subarray(0, 2), Buffer.from('\x81\x80garbage garbage', 'latin1')]),
    ];
    for (const bytes of wrong) await upstream!.sendUdp(bytes, q.from.port);
    await upstream!.sendUdp(real, q.from.port);

    const result = await pending;
    expect(result).toMatchObject({ kind: 'answer', upstream: upstream!.address });
    if (result.kind === 'answer') expect(result.response).toEqual(real);
    // The three from another port never reached the pool: its sockets are connected to the
    // upstream, so the kernel drops them. Only the wrong replies from the upstream itself count.
    expect(h.pool.stats.mismatched).toBe(wrong.length);
    expect(backup!.queries).toHaveLength(0);
    expect(h.completions).toHaveLength(1);
  });

  test('accepts the question in another letter case (0x20 randomisation)', async () => {
    const h = await startHarness({
      upstreams: [{ kind: 'message', bytes: (q) => buildAnswer(otherQuestion(q, { name: q.qname.toUpperCase() })) }],
    });
    const result = await h.ask(encodeQuery('lower.case.test'));
    expect(result.kind).toBe('answer');
    expect(h.pool.stats.mismatched).toBe(0);
  });

  test('drops the right reply when it arrives on another of the pool sockets', async () => {
    const h = await startHarness({ upstreams: [behaviors.blackhole()], socketCount: 2, timeoutMs: 3000 });
    const upstream = h.upstreams[0]!;
    // Enough held queries that both sockets are in use (all on one: 2^-23).
    const results = Array.from({ length: 24 }, (_, i) => h.ask(encodeQuery(`hold${i}.test`)));
    const queries = await upstream.waitForQueries(24);
    const first = queries[0]!;
    const elsewhere = queries.find((q) => q.from.port !== first.from.port);
    if (elsewhere === undefined) throw new Error('all queries went out on one socket');
    const real = buildAnswer(first, defaultAnswer(first));

    await upstream.sendUdp(real, elsewhere.from.port);
    await upstream.sendUdp(real, first.from.port);

    expect(await results[0]).toMatchObject({ kind: 'answer' });
    expect(h.pool.stats.mismatched).toBe(1);
  });

  test('drops a late reply after the timeout and calls done only once', async () => {
    const h = await startHarness({ upstreams: [behaviors.slow(150), behaviors.normal()], timeoutMs: 60 });
    const result = await h.ask(encodeQuery('late.test'));
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[1]!.address });
    await h.upstreams[0]!.waitForReplies(1);
    await until(() => h.pool.stats.mismatched === 1);
    expect(h.completions).toHaveLength(1);
    expect(h.pool.stats.timeouts).toBe(1);
  });

  test('a malformed reply from the upstream keeps the query waiting until its timeout', async () => {
    const h = await startHarness({ upstreams: [behaviors.garbage(), behaviors.normal()], timeoutMs: 100 });
    const start = performance.now();
    const result = await h.ask(encodeQuery('garbled.test'));
    expect(performance.now() - start).toBeGreaterThanOrEqual(95);
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[1]!.address });
    expect(h.pool.stats).toMatchObject({ mismatched: 1, timeouts: 1 });
  });

  test('over TCP, frames with a wrong ID or garbage are skipped until the real answer', async () => {
    const h = await startHarness({
      upstreams: [
        (q) =>
          q.transport === 'udp'
            ? behaviors.truncated()
            : { kind: 'sequence', replies: [behaviors.wrongId(), behaviors.garbage(), behaviors.normal()] },
      ],
    });
    const result = await h.ask(encodeQuery('tcp.spoof.test'));
    expect(result).toMatchObject({ kind: 'answer', viaTcp: true });
    expect(h.pool.stats).toMatchObject({ mismatched: 2, tcpRetries: 1 });
  });
});
