/**
 * 100,000 random and mutated packets (scripts/fuzz/packets.mjs) over UDP and TCP against the real
 * stack in this process, from several loopback sources at once. Afterwards the server must still
 * be up, every answer it sent must have been a well-formed response to something sent, nothing may
 * be left waiting, and normal queries (dig, over UDP and TCP) must get their normal answers.
 */
import { afterEach, expect, test } from 'vitest';
import { MUTATIONS, createPacketFuzzer } from '../../scripts/fuzz/packets.mjs';
import { answerProblems, checkNormalQuery, runFuzz } from '../../scripts/fuzz/run.mjs';
import { dig } from '../helpers/clients.js';
import { defaultIpv4, startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const COUNT = 100_000;

let upstream: LocalUpstream | undefined;
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  await upstream?.close();
});

test('the generator is deterministic per seed and makes every kind of packet', () => {
  const take = (seed: number) => {
    const fuzzer = createPacketFuzzer({ seed });
    return Array.from({ length: 2_000 }, () => fuzzer.next());
  };
  const a = take(42);
  expect(take(42)).toEqual(a);
  expect(take(43)).not.toEqual(a);
  expect(new Set(a.map((p) => p.kind))).toEqual(new Set(Object.keys(MUTATIONS)));
});

test(`${COUNT.toLocaleString('en-US')} fuzz packets over UDP and TCP: the server stays up and answers normally after`, {
  timeout: 120_000,
}, async () => {
  upstream = await startLocalUpstream();
  // Rate limiting off: every packet is to reach the parser, not a REFUSED from the gate.
  // Reads one resolver's pending and counters: with dns.workers the primary's is idle.
  stack = await startStack({
    singleProcess: true,
    upstreams: [upstream.address],
    config: { dns: { listen: ['127.0.0.1:0'], rateLimit: { qps: 0 } } },
  });
  const result = await runFuzz({ port: stack.port, count: COUNT, seed: 5 });

  expect(result.sent).toEqual({ udp: COUNT * 0.8, tcp: COUNT * 0.2, total: COUNT });
  expect(answerProblems(result)).toEqual([]);
  // Most packets get an answer (the rest are responses, runts or cut-off TCP batches, dropped by design).
  const { udp, tcp } = result.answers;
  expect(udp.total).toBeGreaterThan(COUNT * 0.8 * 0.8);
  expect(tcp.total).toBeGreaterThan(COUNT * 0.2 * 0.6);
  for (const rcode of ['NOERROR', 'FORMERR', 'NXDOMAIN', 'NOTIMP']) expect(udp.byRcode[rcode] ?? 0).toBeGreaterThan(0);
  expect(result.tcp.connections).toBeGreaterThan(0);

  // Nothing left behind: no query waiting on an upstream, no TCP connection held open.
  const { resolver } = stack.poolsink;
  await until(() => resolver.pending === 0);
  expect(resolver.counters.queries).toBeGreaterThan(COUNT * 0.9);

  const blocked = await dig(stack.port, ['pool.example']);
  expect(blocked.status).toBe('NXDOMAIN');
  const forwarded = await dig(stack.port, ['after-fuzz.example']);
  expect(forwarded.status).toBe('NOERROR');
  expect(forwarded.answers).toEqual([`after-fuzz.example. 300 IN A ${defaultIpv4('after-fuzz.example')}`]);
  const overTcp = await dig(stack.port, ['+tcp', 'after-fuzz-tcp.example']);
  expect(overTcp.answers).toHaveLength(1);
  const raw = await checkNormalQuery({ port: stack.port, qname: 'raw-after-fuzz.example' });
  expect(raw.udp).toMatchObject({
    answered: true,
    idMatches: true,
    rcode: 'NOERROR',
    answerCount: 1,
    questionEchoed: true,
  });
  expect(raw.tcp).toMatchObject({
    answered: true,
    idMatches: true,
    rcode: 'NOERROR',
    answerCount: 1,
    questionEchoed: true,
  });
  console.log(
    `fuzz: ${COUNT} packets in ${(result.durationMs / 1000).toFixed(1)} s; answers udp ${JSON.stringify(udp.byRcode)} ` +
      `tcp ${JSON.stringify(tcp.byRcode)}; tcp connections ${result.tcp.connections}, resets ${result.tcp.resets}`,
  );
});
