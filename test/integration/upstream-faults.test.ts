/**
 * Upstream faults through the whole stack (client → poolsink → local upstreams), seen from the
 * client with dig or raw packets. The pool-level behaviour (IDs, sockets, failover order, health)
 * is covered by upstream-failover and upstream-spoofing; the basic timeout → SERVFAIL path and
 * single-upstream serve-stale by resolver-forwarding. Here: what a client gets, and what the cache
 * keeps, when upstreams blackhole, crawl, babble, lie or spoof.
 *
 * Poison answers carry 6.6.6.6; honest ones come from the default zone (198.51.100.x). A poisoned
 * entry would show on the next query for the name, which is answered from the cache without
 * reaching any upstream.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, test } from 'vitest';
import { RCODE, TYPE, buildAnswer, withId, type AnswerSpec } from '../helpers/answers.js';
import { dig, udpExchange } from '../helpers/clients.js';
import {
  behaviors,
  defaultAnswer,
  defaultIpv4,
  startLocalUpstream,
  type Behavior,
  type LocalUpstream,
} from '../helpers/local-upstream.js';
import { encodeQuery, findEde, rcodeOf } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const TIMEOUT_MS = 300; // the stack's upstreamTimeoutMs
/** The pool's sweep runs every 25 ms; allow for it and a loaded machine. */
const POISON = '6.6.6.6';
const POISON_ANSWER: AnswerSpec = { answers: [{ type: 'A', address: POISON, ttl: 86_400 }] };

const upstreams: LocalUpstream[] = [];
const sockets: Socket[] = [];
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function upstreamsWith(...choices: Behavior[]): Promise<LocalUpstream[]> {
  const started = await Promise.all(choices.map((behavior) => startLocalUpstream({ behavior })));
  upstreams.push(...started);
  return started;
}

async function start(
  ups: readonly LocalUpstream[],
  options: { clock?: () => number; timeoutMs?: number } = {},
): Promise<Stack> {
  // Reads one upstream pool's stats and cache: with dns.workers each process has its own.
  stack = await startStack({
    singleProcess: true,
    upstreams: ups.map((u) => u.address),
    config: { upstreamTimeoutMs: options.timeoutMs ?? TIMEOUT_MS },
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  return stack;
}

async function udpSocket(address: string, port = 0): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return socket;
}

function sendFrom(socket: Socket, bytes: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
}

/** The A records dig shows for `name`, as addresses. */
async function addressesOf(s: Stack, name: string): Promise<{ status: string; addresses: string[] }> {
  const result = await dig(s.port, [name, 'A']);
  return { status: result.status, addresses: result.answers.map((line) => line.split(' ').pop() ?? '') };
}

/** Bytes that pass the ID check but are not a DNS answer, and answers that are framed right but malformed inside. */
const garbageReplies: [string, Behavior][] = [
  ['not a DNS message', behaviors.garbage()],
  [
    'a header only',
    { kind: 'raw', bytes: (q) => withId(Buffer.from([0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]), q.id) },
  ],
  ['records cut short', { kind: 'raw', bytes: (q) => buildAnswer(q, POISON_ANSWER).subarray(0, -3) }],
  [
    'trailing bytes',
    { kind: 'raw', bytes: (q) => Buffer.concat([buildAnswer(q, POISON_ANSWER), Buffer.from([0, 0, 0])]) },
  ],
  [
    'an SOA whose rdata does not parse',
    {
      kind: 'message',
      bytes: (q) =>
        buildAnswer(q, { rcode: RCODE.NXDOMAIN, authority: [{ type: TYPE.SOA, rdata: Buffer.from('not an soa') }] }),
    },
  ],
  [
    'a CNAME pointing forwards (a loop in waiting)',
    {
      kind: 'message',
      bytes: (q) => buildAnswer(q, { answers: [{ type: TYPE.CNAME, rdata: Buffer.from([0xc0, 0xff]) }] }),
    },
  ],
  [
    'two OPT records',
    {
      kind: 'message',
      bytes: (q) =>
        buildAnswer(q, {
          additional: [
            { type: TYPE.OPT, name: '', rdata: Buffer.alloc(0) },
            { type: TYPE.OPT, name: '', rdata: Buffer.alloc(0) },
          ],
          edns: false,
        }),
    },
  ],
];

describe('one upstream faulty, another healthy: the healthy one serves', () => {
  test.each<[string, Behavior]>([
    ['blackholes', behaviors.blackhole()],
    ['answers after the timeout (with poison)', behaviors.slow(TIMEOUT_MS * 2, behaviors.answer(POISON_ANSWER))],
    ['answers SERVFAIL', behaviors.servfail()],
    ['answers REFUSED', behaviors.refused()],
    ...garbageReplies.map(([label, behavior]): [string, Behavior] => [`answers garbage: ${label}`, behavior]),
  ])('the first upstream %s', async (label, first) => {
    const [faulty, healthy] = await upstreamsWith(first, behaviors.normal());
    const s = await start([faulty!, healthy!]);
    const answer = await addressesOf(s, 'fault.example');
    // A SERVFAIL or REFUSED moves on at once; silence and garbage (dropped as mismatched) wait out
    // one timeout, never more. Counted, not timed: wall-clock bounds fail by chance under load.
    const movesOnAtOnce = label.includes('SERVFAIL') || label.includes('REFUSED');
    expect(s.poolsink.upstream.stats.timeouts).toBe(movesOnAtOnce ? 0 : 1);
    if (label.startsWith('answers garbage')) expect(s.poolsink.upstream.stats.mismatched).toBeGreaterThanOrEqual(1);
    expect(answer).toEqual({ status: 'NOERROR', addresses: [defaultIpv4('fault.example')] });
    expect(faulty!.queries).toHaveLength(1);
    expect(healthy!.queries).toHaveLength(1);
    // A late reply that arrives afterwards changes nothing: the cached answer is the honest one.
    if (label.includes('after the timeout')) {
      await faulty!.waitForReplies(1);
      await until(() => s.poolsink.upstream.stats.mismatched === 1);
    }
    expect(await addressesOf(s, 'fault.example')).toEqual(answer);
    expect(faulty!.queries.length + healthy!.queries.length).toBe(2);
  });
});

describe('spoofed answers are never accepted and never cached', () => {
  test('a wrong ID from the upstream’s own address and port: ignored, the real answer that follows is used', async () => {
    const [upstream] = await upstreamsWith({
      kind: 'sequence',
      replies: [behaviors.wrongId(behaviors.answer(POISON_ANSWER)), behaviors.normal()],
    });
    const s = await start([upstream!]);
    const answer = await addressesOf(s, 'wrong-id.example');
    expect(answer).toEqual({ status: 'NOERROR', addresses: [defaultIpv4('wrong-id.example')] });
    expect(s.poolsink.upstream.stats.mismatched).toBe(1);
    expect(await addressesOf(s, 'wrong-id.example')).toEqual(answer);
    expect(upstream!.queries).toHaveLength(1);
  });

  test('only wrong-ID poison from the first upstream: it times out, the second serves, nothing poisoned', async () => {
    const [liar, honest] = await upstreamsWith(behaviors.wrongId(behaviors.answer(POISON_ANSWER)), behaviors.normal());
    const s = await start([liar!, honest!]);
    const answer = await addressesOf(s, 'liar.example');
    expect(answer.addresses).toEqual([defaultIpv4('liar.example')]);
    expect(await addressesOf(s, 'liar.example')).toEqual(answer);
    expect(liar!.queries.length + honest!.queries.length).toBe(2);
  });

  test('right ID and question from the wrong address or port: dropped; the real answer is used and cached', async () => {
    const [upstream] = await upstreamsWith(behaviors.blackhole());
    const s = await start([upstream!], { timeoutMs: 5000 });
    const pending = udpExchange(s.port, encodeQuery('target.example', { id: 0x0bad, edns: {} }), { timeoutMs: 5000 }); // EDNS, like dig: one cache key
    const [q] = await upstream!.waitForQueries(1);
    if (q === undefined) throw new Error('no upstream query');
    const poison = buildAnswer(q, POISON_ANSWER);
    // The upstream's IP from another port, and the upstream's port on another loopback IP.
    const otherPort = await udpSocket('127.0.0.1');
    const otherAddress = await udpSocket('127.0.0.2', upstream!.port);
    for (let i = 0; i < 3; i++) {
      await sendFrom(otherPort, poison, q.from.port);
      await sendFrom(otherAddress, poison, q.from.port);
    }
    // Each spoof was delivered or dropped by the loopback before its send returned, so all reach
    // poolsink's socket before the real answer if they reach it at all.
    await upstream!.sendUdp(buildAnswer(q, defaultAnswer(q)), q.from.port);
    const reply = await pending;
    expect(reply).toBeDefined();
    expect(reply!.readUInt16BE(0)).toBe(0x0bad);
    expect(rcodeOf(reply!)).toBe(RCODE.NOERROR);
    expect(await addressesOf(s, 'target.example')).toEqual({
      status: 'NOERROR',
      addresses: [defaultIpv4('target.example')],
    });
    expect(upstream!.queries).toHaveLength(1);
    // The upstream socket is connected: the kernel dropped the spoofs, poolsink never read them.
    expect(s.poolsink.upstream.stats.mismatched).toBe(0);
  });

  test('spoofs alone, then nothing: SERVFAIL, and the next query goes upstream again (nothing was cached)', async () => {
    const [upstream] = await upstreamsWith(behaviors.blackhole());
    const s = await start([upstream!]);
    const pending = udpExchange(s.port, encodeQuery('only-spoofed.example', { edns: {} }));
    const [q] = await upstream!.waitForQueries(1);
    if (q === undefined) throw new Error('no upstream query');
    const spoofer = await udpSocket('127.0.0.2', upstream!.port);
    await sendFrom(spoofer, buildAnswer(q, POISON_ANSWER), q.from.port);
    const reply = await pending;
    expect(rcodeOf(reply!)).toBe(RCODE.SERVFAIL);
    upstream!.setBehavior(behaviors.normal());
    expect(await addressesOf(s, 'only-spoofed.example')).toEqual({
      status: 'NOERROR',
      addresses: [defaultIpv4('only-spoofed.example')],
    });
    expect(upstream!.queries).toHaveLength(2);
  });
});

describe('every upstream failing', () => {
  const everyWay: Behavior[] = [
    behaviors.blackhole(),
    behaviors.servfail(),
    behaviors.garbage(),
    behaviors.slow(TIMEOUT_MS * 3),
  ];

  test('an uncached name gets SERVFAIL (EDE 22) within the upstream timeouts, not after the client gave up', async () => {
    const ups = await upstreamsWith(...everyWay);
    const s = await start(ups);
    const started = performance.now();
    const reply = await udpExchange(s.port, encodeQuery('nowhere.example', { edns: {} }), { timeoutMs: 5000 });
    const elapsed = performance.now() - started;
    expect(rcodeOf(reply!)).toBe(RCODE.SERVFAIL);
    expect(findEde(reply!)?.code).toBe(22);
    // Three of the four fail by timing out; SERVFAIL moves on at once.
    expect(elapsed).toBeGreaterThanOrEqual(3 * TIMEOUT_MS - 5);
    expect(s.poolsink.upstream.stats.timeouts).toBe(3);
    expect(ups.map((u) => u.queries.length)).toEqual([1, 1, 1, 1]);
  });

  test('SERVFAIL is not cached: once an upstream recovers, the name resolves', async () => {
    const [upstream] = await upstreamsWith(behaviors.servfail());
    const s = await start([upstream!]);
    expect((await dig(s.port, ['flaky.example'])).status).toBe('SERVFAIL');
    upstream!.setBehavior(behaviors.normal());
    expect(await addressesOf(s, 'flaky.example')).toEqual({
      status: 'NOERROR',
      addresses: [defaultIpv4('flaky.example')],
    });
  });

  test('a cached name is served stale (TTL 30) when every upstream fails, each in its own way', async () => {
    const ups = await upstreamsWith(behaviors.normal(), behaviors.normal(), behaviors.normal(), behaviors.normal());
    let now = 1_700_000_000_000;
    const s = await start(ups, { clock: () => now });
    const fresh = await dig(s.port, ['stale.example']);
    expect(fresh.answers[0]).toMatch(/^stale\.example\. 300 IN A /);
    now += 3_600_000; // an hour: expired, within serveStaleSec
    for (const [i, behavior] of everyWay.entries()) ups[i]!.setBehavior(behavior);
    const stale = await dig(s.port, ['stale.example']);
    expect(s.poolsink.upstream.stats.timeouts).toBe(3);
    expect(stale.status).toBe('NOERROR');
    expect(stale.answers).toEqual([`stale.example. 30 IN A ${defaultIpv4('stale.example')}`]);
    expect(s.poolsink.resolver.counters.stale).toBe(1);
  });
});
