/**
 * Per-client rate limiting over real sockets: UDP and TCP listeners sharing one gate in front of the
 * stack's real resolver (the way main wires them), clients on distinct loopback addresses, and a
 * manual clock so that refills are exact.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import {
  createRateLimitGate,
  createRateLimiter,
  type RateLimitAction,
  type RateLimitGate,
} from '../../src/dns/rate-limit.js';
import { startOnOnePort } from '../../src/dns/one-port.js';
import { startTcpListener } from '../../src/dns/tcp-server.js';
import { startUdpListener } from '../../src/dns/udp-server.js';
import { dig } from '../helpers/clients.js';
import { startLocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';
import { startStack } from '../helpers/stack.js';
import { frame, openPeer } from '../helpers/tcp-peer.js';

const QPS = 5;
const BURST = 10;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LimitedServer {
  port: number;
  gate: RateLimitGate;
  logs: Record<string, unknown>[];
  advance(ms: number): void;
}

async function start(action: RateLimitAction): Promise<LimitedServer> {
  const upstream = await startLocalUpstream();
  cleanups.push(() => upstream.close());
  const stack = await startStack({ upstreams: [upstream.address] });
  cleanups.push(() => stack.close());
  let now = 1_000_000;
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const gate = createRateLimitGate({
    limiter: createRateLimiter({ qps: QPS, burst: BURST, clock: () => now }),
    action,
    log,
  });
  const resolver = stack.poolsink.resolver;
  // Port 0: UDP picks the port and TCP may find it taken, so both move on together (one-port.ts).
  const { udp, tcp } = await startOnOnePort({
    port: 0,
    startUdp: () =>
      startUdpListener({ listen: { host: '127.0.0.1', port: 0, family: 4 }, resolver, log, rateLimit: gate }),
    startTcp: (port) =>
      startTcpListener({
        listen: { host: '127.0.0.1', port, family: 4 },
        resolver,
        log,
        limits: { idleTimeoutMs: 5000, maxConnections: 10, maxConnectionsPerClient: 10 },
        rateLimit: gate,
      }),
  });
  cleanups.push(() => udp.close());
  cleanups.push(() => tcp.close());
  return {
    port: udp.address.port,
    gate,
    logs,
    advance: (ms) => {
      now += ms;
    },
  };
}

/**
 * Sends `count` queries (IDs 0..count-1) from `localAddress` over UDP, one at a time, and returns
 * each one's reply RCODE, or 'none' when no reply came within `timeoutMs`.
 */
async function udpQueries(
  port: number,
  localAddress: string,
  count: number,
  qname = 'pool.example',
  timeoutMs = 300,
): Promise<(number | 'none')[]> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, localAddress, () => resolve()));
  const replies = new Map<number, Buffer>();
  const waiting = new Map<number, () => void>();
  socket.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    replies.set(id, msg);
    waiting.get(id)?.();
  });
  const results: (number | 'none')[] = [];
  try {
    for (let id = 0; id < count; id++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        waiting.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
        socket.send(encodeQuery(qname, { id }), port, '127.0.0.1');
      });
      const reply = replies.get(id);
      results.push(reply === undefined ? 'none' : rcodeOf(reply));
    }
  } finally {
    socket.close();
  }
  return results;
}

const NXDOMAIN = 3;
const REFUSED = 5;
const repeat = <T>(value: T, n: number): T[] => Array.from({ length: n }, () => value);

describe('rate limit: refuse', () => {
  test('a client over its burst gets REFUSED; other clients are unaffected; one log line', async () => {
    const s = await start('refuse');
    expect(await udpQueries(s.port, '127.0.0.2', BURST + 5)).toEqual([
      ...repeat(NXDOMAIN, BURST),
      ...repeat(REFUSED, 5),
    ]);
    expect(await udpQueries(s.port, '127.0.0.3', BURST)).toEqual(repeat(NXDOMAIN, BURST));
    // An independent client sees the same: dig from the limited address is refused.
    expect((await dig(s.port, ['-b', '127.0.0.2', 'pool.example'])).status).toBe('REFUSED');
    expect((await dig(s.port, ['-b', '127.0.0.4', 'pool.example'])).status).toBe('NXDOMAIN');
    expect(s.gate.counters).toEqual({ limited: 6, refused: 6, dropped: 0 });
    const lines = s.logs.filter((l) => l['msg'] === 'client over its query rate limit');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, client: '127.0.0.2', limited: 1, action: 'refuse' });
  });

  test('the bucket refills at qps', async () => {
    const s = await start('refuse');
    await udpQueries(s.port, '127.0.0.2', BURST);
    expect(await udpQueries(s.port, '127.0.0.2', 1)).toEqual([REFUSED]);
    s.advance(1000); // QPS more tokens
    expect(await udpQueries(s.port, '127.0.0.2', QPS + 1)).toEqual([...repeat(NXDOMAIN, QPS), REFUSED]);
  });

  test('UDP and TCP from one client draw on one bucket', async () => {
    const s = await start('refuse');
    await udpQueries(s.port, '127.0.0.2', BURST);
    const limited = await openPeer(s.port, '127.0.0.2');
    cleanups.push(() => limited.destroy());
    const other = await openPeer(s.port, '127.0.0.3');
    cleanups.push(() => other.destroy());
    limited.write(frame(encodeQuery('pool.example', { id: 1 })));
    other.write(frame(encodeQuery('pool.example', { id: 2 })));
    const [refused] = await limited.waitForReplies(1);
    const [answered] = await other.waitForReplies(1);
    expect(rcodeOf(refused!)).toBe(REFUSED);
    expect(rcodeOf(answered!)).toBe(NXDOMAIN);
  });
});

describe('rate limit: drop', () => {
  test('a client over its burst gets no answer, counted; other clients are unaffected', async () => {
    const s = await start('drop');
    expect(await udpQueries(s.port, '127.0.0.2', BURST + 3, 'pool.example', 150)).toEqual([
      ...repeat(NXDOMAIN, BURST),
      ...repeat('none', 3),
    ]);
    expect(await udpQueries(s.port, '127.0.0.3', 3)).toEqual(repeat(NXDOMAIN, 3));
    expect(s.gate.counters).toEqual({ limited: 3, refused: 0, dropped: 3 });
  });

  test('TCP: a dropped query still frees its slot, so the connection keeps working after a refill', async () => {
    const s = await start('drop');
    const p = await openPeer(s.port, '127.0.0.2');
    cleanups.push(() => p.destroy());
    const queries = Array.from({ length: BURST + 2 }, (_, id) => frame(encodeQuery('pool.example', { id })));
    p.write(Buffer.concat(queries));
    await p.waitForReplies(BURST);
    s.advance(1000);
    p.write(frame(encodeQuery('pool.example', { id: 999 })));
    const replies = await p.waitForReplies(BURST + 1);
    expect(replies.map((r) => r.readUInt16BE(0))).toEqual([...Array.from({ length: BURST }, (_, i) => i), 999]);
  });
});

describe('as configured (dns.rateLimit), through the composition root', () => {
  test('over the burst a client gets REFUSED, another client is unaffected, and /metrics counts it', async () => {
    const upstream = await startLocalUpstream();
    cleanups.push(() => upstream.close());
    // One rate limiter's burst: with dns.workers each process limits on its own.
    const stack = await startStack({
      singleProcess: true,
      upstreams: [upstream.address],
      config: { dns: { listen: ['127.0.0.1:0'], rateLimit: { qps: 1, burst: 5 } } },
    });
    cleanups.push(() => stack.close());
    const send = async (from: string, n: number): Promise<number[]> => {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, from, resolve));
      const rcodes: number[] = [];
      for (let i = 0; i < n; i++) {
        const reply = new Promise<Buffer>((resolve) => socket.once('message', resolve));
        socket.send(encodeQuery(`x${i}.pool.example`, { id: i + 1 }), stack.port, '127.0.0.1');
        rcodes.push(rcodeOf(await reply));
      }
      socket.close();
      return rcodes;
    };
    const limited = await send('127.0.0.21', 8);
    expect(limited.slice(0, 5)).toEqual([3, 3, 3, 3, 3]); // blocked: NXDOMAIN
    expect(limited.slice(5)).toEqual([5, 5, 5]); // REFUSED
    expect(await send('127.0.0.22', 3)).toEqual([3, 3, 3]);
    expect(stack.poolsink.rateLimit?.counters).toMatchObject({ limited: 3, refused: 3, dropped: 0 });
    const metrics = await stack.api('/metrics');
    expect(String(metrics.body)).toMatch(/^poolsink_dns_rate_limited_total\{action="refused"\} 3$/m);
  });
});
