import { PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import {
  RATE,
  RATE_LIMIT_DEFAULTS,
  createRateLimitGate,
  createRateLimiter,
  type RateLimitAction,
  type RateLimiterOptions,
  type RateVerdict,
} from '../../src/dns/rate-limit.js';
import type { Transport } from '../../src/dns/transport.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';

function manualClock(start = 1_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function limiterWith(options: Partial<RateLimiterOptions> = {}) {
  const clock = manualClock();
  const limiter = createRateLimiter({ qps: 10, burst: 5, clock: clock.now, ...options });
  return { limiter, clock };
}

/** Runs `count` checks for one client; returns how many were allowed. */
function allowedOf(check: (ip: string) => RateVerdict, ip: string, count: number): number {
  let allowed = 0;
  for (let i = 0; i < count; i++) if (check(ip) === RATE.ALLOW) allowed++;
  return allowed;
}

describe('token bucket', () => {
  test.each<[string, { qps: number; burst: number }, [advanceMs: number, queries: number][], number[]]>([
    ['a fresh client gets exactly the burst', { qps: 10, burst: 5 }, [[0, 8]], [5]],
    [
      'refills at qps: 100 ms at 10 qps is one token',
      { qps: 10, burst: 5 },
      [
        [0, 5],
        [100, 3],
      ],
      [5, 1],
    ],
    [
      'refill is capped at the burst',
      { qps: 10, burst: 5 },
      [
        [0, 5],
        [60_000, 10],
      ],
      [5, 5],
    ],
    [
      'fractional tokens accumulate',
      { qps: 10, burst: 5 },
      [
        [0, 5],
        [50, 1],
        [50, 1],
      ],
      [5, 0, 1],
    ],
    [
      'burst 1 at 1000 qps: one per millisecond',
      { qps: 1000, burst: 1 },
      [
        [0, 3],
        [1, 3],
        [1, 3],
      ],
      [1, 1, 1],
    ],
    [
      'the default is generous: 2000 at once, then 1000 per second',
      RATE_LIMIT_DEFAULTS,
      [
        [0, 2500],
        [1000, 1500],
      ],
      [2000, 1000],
    ],
  ])('%s', (_label, rates, steps, expected) => {
    const { limiter, clock } = limiterWith(rates);
    const got = steps.map(([advanceMs, queries]) => {
      clock.advance(advanceMs);
      return allowedOf(limiter.check, '10.0.0.1', queries);
    });
    expect(got).toEqual(expected);
  });

  test('clients are independent: one over its limit does not touch another', () => {
    const { limiter } = limiterWith();
    expect(allowedOf(limiter.check, '10.0.0.1', 100)).toBe(5);
    expect(allowedOf(limiter.check, '10.0.0.2', 5)).toBe(5);
    expect(allowedOf(limiter.check, '::1', 5)).toBe(5);
    expect(limiter.stats).toMatchObject({ allowed: 15, limited: 95 });
  });

  test('a clock that goes backwards neither refills nor throws', () => {
    const { limiter, clock } = limiterWith();
    expect(allowedOf(limiter.check, '10.0.0.1', 5)).toBe(5);
    clock.advance(-10_000);
    expect(allowedOf(limiter.check, '10.0.0.1', 5)).toBe(0);
    clock.advance(10_100); // 100 ms after the last real check: one token
    expect(allowedOf(limiter.check, '10.0.0.1', 5)).toBe(1);
  });

  test.each<[string, Partial<RateLimiterOptions>]>([
    ['qps 0', { qps: 0 }],
    ['qps NaN', { qps: Number.NaN }],
    ['burst below 1', { burst: 0.5 }],
    ['maxClients 0', { maxClients: 0 }],
    ['maxClients fractional', { maxClients: 1.5 }],
    ['negative logIntervalMs', { logIntervalMs: -1 }],
  ])('rejects %s with ERR_CONFIG_INVALID', (_label, options) => {
    expect.assertions(1);
    try {
      createRateLimiter({ qps: 10, burst: 5, ...options });
    } catch (err: unknown) {
      expect(isPoolsinkError(err, 'ERR_CONFIG_INVALID')).toBe(true);
    }
  });
});

describe('log once per client per interval', () => {
  test('the first limited query asks for a log line, then none until the interval is over', () => {
    const { limiter, clock } = limiterWith({ qps: 1, burst: 1, logIntervalMs: 60_000 });
    const verdicts = () => Array.from({ length: 4 }, () => limiter.check('10.0.0.1'));
    expect(verdicts()).toEqual([RATE.ALLOW, RATE.LIMIT_AND_LOG, RATE.LIMIT, RATE.LIMIT]);
    expect(limiter.limitedSinceLog).toBe(1);
    clock.advance(30_000);
    expect(verdicts()).toEqual([RATE.ALLOW, RATE.LIMIT, RATE.LIMIT, RATE.LIMIT]);
    clock.advance(30_000);
    expect(verdicts()).toEqual([RATE.ALLOW, RATE.LIMIT_AND_LOG, RATE.LIMIT, RATE.LIMIT]);
    // 2 + 3 limited before this line, and this one.
    expect(limiter.limitedSinceLog).toBe(6);
  });

  test('over all clients, at most maxLogsPerInterval lines; the next line reports how many were suppressed', () => {
    const { limiter, clock } = limiterWith({ qps: 1, burst: 1, logIntervalMs: 1_000, maxLogsPerInterval: 3 });
    const due: string[] = [];
    for (let i = 0; i < 10; i++) {
      const ip = `10.0.0.${i}`;
      limiter.check(ip);
      if (limiter.check(ip) === RATE.LIMIT_AND_LOG) due.push(ip);
    }
    expect(due).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2']);
    expect(limiter.stats.logsSuppressed).toBe(7);
    clock.advance(1_000);
    limiter.check('10.0.0.1');
    expect(limiter.check('10.0.0.1')).toBe(RATE.LIMIT_AND_LOG);
    expect(limiter.suppressedSinceLog).toBe(7);
  });
});

describe('bounded memory', () => {
  test('a spoofed-source flood never holds more than maxClients buckets', () => {
    const { limiter } = limiterWith({ maxClients: 100 });
    for (let i = 0; i < 20_000; i++) limiter.check(`198.18.${i >> 8}.${i & 0xff}`);
    expect(limiter.clients).toBe(100);
    expect(limiter.stats.evicted).toBe(19_900);
  });

  test('a client that keeps sending keeps its bucket (and its limit) through a spoofed flood', () => {
    const { limiter } = limiterWith({ qps: 0.001, burst: 5, maxClients: 64 });
    expect(allowedOf(limiter.check, '10.9.9.9', 5)).toBe(5);
    let abuserAllowed = 0;
    for (let i = 0; i < 50_000; i++) {
      limiter.check(`198.18.${i >> 8}.${i & 0xff}`);
      if (i % 8 === 0 && limiter.check('10.9.9.9') === RATE.ALLOW) abuserAllowed++;
    }
    // Evicted even once, it would have come back with a full burst of 5.
    expect(abuserAllowed).toBe(0);
    expect(limiter.clients).toBeLessThanOrEqual(64);
  });

  test('buckets that have refilled are freed as new clients arrive', () => {
    const { limiter, clock } = limiterWith({ qps: 10, burst: 5, logIntervalMs: 0 });
    for (let i = 0; i < 100; i++) limiter.check(`10.1.0.${i}`);
    expect(limiter.clients).toBe(100);
    clock.advance(1_000); // 1 s refills 10 tokens: every bucket is full again
    for (let i = 0; i < 100; i++) limiter.check(`10.2.0.${i}`);
    expect(limiter.stats.evicted).toBe(100);
    expect(limiter.clients).toBe(100);
  });

  test('a limited client whose log interval is not over is not forgotten early (it would log again)', () => {
    const { limiter, clock } = limiterWith({ qps: 10, burst: 1, logIntervalMs: 60_000 });
    limiter.check('10.0.0.1');
    expect(limiter.check('10.0.0.1')).toBe(RATE.LIMIT_AND_LOG);
    clock.advance(10_000); // refilled, but logged 10 s ago
    for (let i = 0; i < 50; i++) limiter.check(`10.2.0.${i}`);
    limiter.check('10.0.0.1');
    expect(limiter.check('10.0.0.1')).toBe(RATE.LIMIT);
  });

  test('a known client costs no allocation: once optimised, millions of checks trigger no garbage collection', async () => {
    const { limiter, clock } = limiterWith({ qps: 1e9, burst: 1e9 });
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '192.168.1.1', '172.16.0.1', '::1', 'fd00::1'];
    const run = (count: number): number => {
      let allowed = 0;
      for (let i = 0; i < count; i++) {
        if (limiter.check(ips[i & 7]!) === RATE.ALLOW) allowed++;
        if ((i & 0xffff) === 0) clock.advance(1);
      }
      return allowed;
    };
    // Until V8 optimises check(), its number arithmetic boxes doubles; the steady state is what counts.
    run(1_000_000);
    const gcStarts: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcStarts.push(entry.startTime);
    });
    observer.observe({ entryTypes: ['gc'] });
    const startMs = performance.now();
    const allowed = run(4_000_000);
    const endMs = performance.now();
    // Entries arrive asynchronously; only those that started during the loop count. This proves
    // that no GC happened, and "no entry" has no event to await: a short wait lets late entries in.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const gcs = gcStarts.filter((t) => t >= startMs && t <= endMs);
    observer.disconnect();
    expect(allowed).toBe(4_000_000);
    expect(gcs).toEqual([]);
  });
});

describe('gate', () => {
  function fakeTransport() {
    const sent: Buffer[] = [];
    let drops = 0;
    const transport: Transport = {
      protocol: 'udp',
      send: (response) => void sent.push(response),
      drop: () => void drops++,
    };
    return { transport, sent, drops: () => drops };
  }

  function gateWith(action: RateLimitAction) {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const limiter = createRateLimiter({ qps: 1, burst: 2, clock: manualClock().now });
    return { gate: createRateLimitGate({ limiter, action, log }), lines };
  }

  test('refuse: over the limit the gate answers REFUSED itself, echoing ID and question, and logs once', () => {
    const { gate, lines } = gateWith('refuse');
    const t = fakeTransport();
    const query = encodeQuery('over.limit.test', { id: 0xbeef, edns: {} });
    const admitted = Array.from({ length: 5 }, () => gate.admit(query, '10.0.0.7', 5353, t.transport));
    expect(admitted).toEqual([true, true, false, false, false]);
    expect(t.sent).toHaveLength(3);
    const reply = t.sent[0]!;
    expect(reply.readUInt16BE(0)).toBe(0xbeef);
    expect(rcodeOf(reply)).toBe(5);
    expect(reply.subarray(12, 12 + 17 + 4)).toEqual(query.subarray(12, 12 + 17 + 4));
    expect(gate.counters).toEqual({ limited: 3, refused: 3, dropped: 0 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      client: '10.0.0.7',
      limited: 1,
      msg: 'client over its query rate limit',
    });
  });

  test('drop: over the limit the gate drops, through the transport', () => {
    const { gate } = gateWith('drop');
    const t = fakeTransport();
    const query = encodeQuery('over.limit.test');
    const admitted = Array.from({ length: 4 }, () => gate.admit(query, '10.0.0.7', 5353, t.transport));
    expect(admitted).toEqual([true, true, false, false]);
    expect(t.sent).toHaveLength(0);
    expect(t.drops()).toBe(2);
    expect(gate.counters).toEqual({ limited: 2, refused: 0, dropped: 2 });
  });

  test('refuse never answers a response or a runt: those are dropped', () => {
    const { gate } = gateWith('refuse');
    const t = fakeTransport();
    const query = encodeQuery('x.test');
    gate.admit(query, '10.0.0.7', 1, t.transport);
    gate.admit(query, '10.0.0.7', 1, t.transport);
    expect(gate.admit(encodeQuery('x.test', { flags: 0x8180 }), '10.0.0.7', 1, t.transport)).toBe(false);
    expect(gate.admit(Buffer.from([1, 2, 3]), '10.0.0.7', 1, t.transport)).toBe(false);
    expect(t.sent).toHaveLength(0);
    expect(t.drops()).toBe(2);
  });
});
