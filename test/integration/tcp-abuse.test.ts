/**
 * TCP abuse against the real resolver over loopback sockets. The caps run through the whole stack
 * (configured like an operator would); the timeouts and framing limits run on an extra listener
 * on the stack's resolver, with limits short enough for a test. Each test fails without its defence.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { pino } from 'pino';
import {
  MAX_TCP_QUERY_BYTES,
  MAX_UNSENT_BYTES,
  startTcpListener,
  type TcpLimits,
  type TcpListener,
} from '../../src/dns/tcp-server.js';
import { startLocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';
import { startStack } from '../helpers/stack.js';
import { singleProcessStack, type Cleanups } from '../helpers/single-process-stack.js';
import { closesWithin, frame, openPeer, type TcpPeer } from '../helpers/tcp-peer.js';
import { until } from '../helpers/wait.js';

const cleanups: Cleanups = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Per-client connection limits are one process's count: with dns.workers, each worker's.
const stackWith = (config?: Record<string, unknown>) => singleProcessStack(cleanups, config);

/** A TCP listener with `limits` on the resolver of a freshly started stack. */
async function listenerWith(limits: Partial<TcpLimits>): Promise<{ listener: TcpListener; port: number }> {
  const { stack } = await stackWith();
  const listener = await startTcpListener({
    listen: { host: '127.0.0.1', port: 0, family: 4 },
    resolver: stack.poolsink.resolver,
    log: pino({ level: 'silent' }),
    limits: { idleTimeoutMs: 10_000, maxConnections: 100, maxConnectionsPerClient: 100, ...limits },
  });
  cleanups.push(() => listener.close());
  return { listener, port: listener.address.port };
}

async function peer(port: number, localAddress?: string): Promise<TcpPeer> {
  const p = await openPeer(port, localAddress);
  cleanups.push(() => p.destroy());
  return p;
}

/** True if `p` gets an answer to a query now (so the connection is being served). */
async function answers(p: TcpPeer, qname = 'pool.example'): Promise<boolean> {
  const before = p.replies.length;
  p.write(frame(encodeQuery(qname, { id: 0x4000 + before })));
  try {
    await p.waitForReplies(before + 1, 2000);
    return true;
  } catch {
    return false;
  }
}

/** Pacing for the tests that send on a schedule (the schedule is what they test), never to wait for the server. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('connection caps (configured through the stack)', () => {
  test('per client and in total: extra connections are closed at once, the others keep working', async () => {
    const { stack } = await stackWith({
      dns: { listen: ['127.0.0.1:0'], tcpMaxConnections: 3, tcpMaxConnectionsPerClient: 2 },
    });
    const a1 = await peer(stack.port, '127.0.0.1');
    const a2 = await peer(stack.port, '127.0.0.1');
    expect(await answers(a1)).toBe(true);
    expect(await answers(a2)).toBe(true);

    const a3 = await peer(stack.port, '127.0.0.1'); // third from one client
    expect(await closesWithin(a3, 1000)).toBe(true);

    const b1 = await peer(stack.port, '127.0.0.2'); // another client still gets in
    expect(await answers(b1)).toBe(true);

    const c1 = await peer(stack.port, '127.0.0.3'); // over the total
    expect(await closesWithin(c1, 1000)).toBe(true);

    // The accepted ones were never disturbed, and a freed slot is usable again.
    expect(await answers(a1)).toBe(true);
    a2.destroy();
    await a2.closed;
    // The server frees the slot when it sees the close, on its own turn: a connection it still
    // refuses is closed at once, so try again until one is served.
    await vi.waitFor(
      async () => {
        const a4 = await peer(stack.port, '127.0.0.1');
        expect(await answers(a4)).toBe(true);
      },
      { timeout: 5000, interval: 10 },
    );
  });
});

describe('refused clients and connect-and-wait floods', () => {
  test('40 idle connections from an address outside allowClients do not lock out an allowed client', async () => {
    const { stack } = await stackWith({
      dns: {
        listen: ['127.0.0.1:0'],
        allowClients: ['127.0.0.1/32'],
        tcpMaxConnections: 20,
        tcpMaxConnectionsPerClient: 40,
        tcpFirstQueryTimeoutMs: 60_000, // this test is about the ACL alone
      },
    });
    // Without the ACL at accept, these would hold all 20 slots (and the allowed client would be
    // closed at once). The server accepts in order, so they are handled before the allowed one.
    const refused = await Promise.all(Array.from({ length: 40 }, () => peer(stack.port, '127.0.0.9')));
    const allowed = await peer(stack.port, '127.0.0.1');
    expect(await answers(allowed)).toBe(true);
    await Promise.all(refused.map((p) => p.closed)); // each closed at accept
  });

  test('a connection that sends no query is closed after the first-query timeout', async () => {
    const { listener, port } = await listenerWith({ idleTimeoutMs: 60_000, firstQueryTimeoutMs: 300 });
    const p = await peer(port);
    const closedAfter = await p.closed;
    expect(closedAfter).toBeGreaterThanOrEqual(290); // no upper bound: load delays timers
    expect(listener.counters).toMatchObject({ firstQueryTimeouts: 1, idleClosed: 0 });
  });

  test('after its first query, a connection is governed by the idle timeout only', async () => {
    const { listener, port } = await listenerWith({ idleTimeoutMs: 60_000, firstQueryTimeoutMs: 200 });
    const p = await peer(port);
    expect(await answers(p)).toBe(true);
    // Still open (and served) well past the first-query timeout: a fresh connection opened later
    // closes at its own first-query timeout while this one stays.
    const later = await peer(port);
    await later.closed;
    expect(p.isClosed).toBe(false);
    expect(await answers(p)).toBe(true);
    expect(listener.counters.firstQueryTimeouts).toBe(1);
  });
});

describe('timeouts', () => {
  test('a flood of idle connections is closed after the idle timeout, freeing the slots', async () => {
    const { listener, port } = await listenerWith({
      idleTimeoutMs: 300,
      maxConnections: 20,
      maxConnectionsPerClient: 20,
    });
    const idle = await Promise.all(Array.from({ length: 20 }, () => peer(port)));
    const extra = await peer(port);
    expect(await closesWithin(extra, 1000)).toBe(true); // full
    const closedAfter = await Promise.all(idle.map((p) => p.closed));
    for (const ms of closedAfter) {
      expect(ms).toBeGreaterThanOrEqual(290); // not before the idle timeout; no upper bound: load delays timers
    }
    expect(listener.counters.idleClosed).toBe(20);
    await until(() => listener.connections === 0);
    expect(await answers(await peer(port))).toBe(true);
  });

  test('a connection with queries still outstanding is not idle', async () => {
    // biome-ignore lint/suspicious/noThenProperty: the local upstream's behaviour chain, not a thenable
    const upstream = await startLocalUpstream({ behavior: { kind: 'delay', ms: 250, then: { kind: 'default' } } });
    cleanups.push(() => upstream.close());
    const stack = await startStack({ upstreams: [upstream.address], config: { upstreamTimeoutMs: 1000 } });
    cleanups.push(() => stack.close());
    const listener = await startTcpListener({
      listen: { host: '127.0.0.1', port: 0, family: 4 },
      resolver: stack.poolsink.resolver,
      log: pino({ level: 'silent' }),
      limits: { idleTimeoutMs: 100, maxConnections: 10, maxConnectionsPerClient: 10 },
    });
    cleanups.push(() => listener.close());
    const p = await peer(listener.address.port);
    p.write(frame(encodeQuery('slow.example', { id: 7 })));
    const [reply] = await p.waitForReplies(1);
    expect(rcodeOf(reply!)).toBe(0);
  });

  test('a slow sender (a byte every 100 ms) is cut off by the read timeout, though it is never idle', async () => {
    const { listener, port } = await listenerWith({ idleTimeoutMs: 2000, readTimeoutMs: 400 });
    const p = await peer(port);
    const bytes = frame(encodeQuery('trickle.example'));
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < bytes.length) p.write(bytes.subarray(sent, ++sent));
    }, 100);
    cleanups.push(() => clearInterval(trickle));
    const closedAfter = await p.closed;
    clearInterval(trickle);
    expect(closedAfter).toBeGreaterThanOrEqual(390);
    expect(closedAfter).toBeLessThan(1200);
    expect(sent).toBeLessThan(bytes.length);
    expect(p.replies).toHaveLength(0);
    expect(listener.counters).toMatchObject({ readTimeouts: 1, idleClosed: 0 });
  });

  test('a query split over several writes in good time is answered (the read timeout is per frame)', async () => {
    const { port } = await listenerWith({ idleTimeoutMs: 2000, readTimeoutMs: 400 });
    const p = await peer(port);
    // 5 × 90 ms of writes: longer than the 400 ms read timeout, so only a per-frame timer lets them all through.
    for (let i = 0; i < 5; i++) {
      const bytes = frame(encodeQuery(`split${i}.example`, { id: i }));
      p.write(bytes.subarray(0, 1)); // the length prefix split in two
      await sleep(30);
      p.write(bytes.subarray(1, 9));
      await sleep(30);
      p.write(bytes.subarray(9));
      await sleep(30);
    }
    const replies = await p.waitForReplies(5);
    expect(replies.map((r) => r.readUInt16BE(0))).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('absurd length prefixes', () => {
  test.each([
    ['65535 declared, nothing sent', 65535, 0],
    [`${MAX_TCP_QUERY_BYTES + 1} declared (one over the cap)`, MAX_TCP_QUERY_BYTES + 1, 100],
    ['0', 0, 0],
    ['1 (with its byte)', 1, 1],
    ['11 (with its bytes: one short of a header)', 11, 11],
  ])('length %s: the connection is closed at once, nothing buffered', async (_label, length, payload) => {
    const { listener, port } = await listenerWith({ idleTimeoutMs: 5000, readTimeoutMs: 5000 });
    const p = await peer(port);
    const bytes = Buffer.alloc(2 + payload);
    bytes.writeUInt16BE(length, 0);
    p.write(bytes);
    expect(await closesWithin(p, 1000)).toBe(true);
    expect(listener.counters.badFrames).toBe(1);
    expect(listener.bufferedBytes).toBe(0);
  });

  test('a 12-byte frame (a bare header) is a query like any other: answered, connection kept', async () => {
    const { port } = await listenerWith({});
    const p = await peer(port);
    const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
    p.write(frame(header));
    const [reply] = await p.waitForReplies(1);
    expect(reply!.readUInt16BE(0)).toBe(0x1234);
    expect(rcodeOf(reply!)).toBe(1); // FORMERR: no question
    expect(await answers(p)).toBe(true);
  });

  test('many connections declaring the largest query and stalling hold bounded memory, then are cut off', async () => {
    const { listener, port } = await listenerWith({ idleTimeoutMs: 5000, readTimeoutMs: 400 });
    const peers = await Promise.all(Array.from({ length: 50 }, () => peer(port)));
    const start = Buffer.alloc(2 + 100);
    start.writeUInt16BE(MAX_TCP_QUERY_BYTES, 0);
    for (const p of peers) p.write(start);
    // Every connection has read its declared length and holds a frame buffer for it.
    await until(() => listener.bufferedBytes === 50 * MAX_TCP_QUERY_BYTES);
    expect(listener.connections).toBe(50);
    expect(listener.bufferedBytes).toBeLessThanOrEqual(50 * MAX_TCP_QUERY_BYTES);
    await Promise.all(peers.map((p) => p.closed));
    expect(listener.counters.readTimeouts).toBe(50);
    await until(() => listener.connections === 0);
    expect(listener.bufferedBytes).toBe(0);
  });
});

describe('a client that never reads its answers', () => {
  test('reading from it pauses (bounded memory), and it is closed as idle', async () => {
    const { listener, port } = await listenerWith({ idleTimeoutMs: 500, readTimeoutMs: 500 });
    const p = await peer(port);
    p.socket.pause(); // never read a reply
    const query = frame(encodeQuery('pool.example')); // blocked: answered at once, ~100 bytes
    const batch = Buffer.concat(Array.from({ length: 10_000 }, () => query));
    let maxBuffered = 0;
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, listener.bufferedBytes);
    }, 5);
    cleanups.push(() => clearInterval(sampler));
    // 40 MB of answers if every query were read and answered.
    for (let i = 0; i < 40 && !p.isClosed; i++) {
      p.write(batch);
      await sleep(10); // pacing: one batch per turn, so the server reads (and pauses) between them
    }
    expect(await closesWithin(p, 3000)).toBe(true);
    clearInterval(sampler);
    expect(listener.counters.idleClosed).toBe(1);
    // The unsent-answer cap plus at most one read chunk's worth of answers and held input.
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThan(MAX_UNSENT_BYTES + 512 * 1024);
  });
});
