import { describe, expect, test } from 'vitest';
import { behaviors, type Behavior } from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';
import { startHarness } from '../helpers/upstream-harness.js';

const TIMEOUT_MS = 200;
/** The sweep fires every 25 ms at most; allow for it and for a loaded machine. */

describe('failover', () => {
  test('a timeout moves on to the next upstream', async () => {
    const h = await startHarness({ upstreams: [behaviors.blackhole(), behaviors.normal()], timeoutMs: TIMEOUT_MS });
    const start = performance.now();
    const result = await h.ask(encodeQuery('failover.test'));
    const elapsed = performance.now() - start;
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[1]!.address });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(h.pool.stats).toMatchObject({ sent: 2, answered: 1, timeouts: 1 });
  });

  test('when every upstream is blackholed the query fails with timeout after about n × timeout', async () => {
    const h = await startHarness({
      upstreams: [behaviors.blackhole(), behaviors.blackhole(), behaviors.blackhole()],
      timeoutMs: TIMEOUT_MS,
    });
    const start = performance.now();
    const result = await h.ask(encodeQuery('nobody.test'));
    const elapsed = performance.now() - start;
    expect(result).toMatchObject({ kind: 'failed', reason: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(3 * TIMEOUT_MS - 5);
    expect(h.upstreams.map((u) => u.queries.length)).toEqual([1, 1, 1]);
    expect(h.pool.stats.timeouts).toBe(3);
  });

  test.each<[string, Behavior]>([
    ['SERVFAIL', behaviors.servfail()],
    ['REFUSED', behaviors.refused()],
  ])('%s from the first upstream moves on to the second', async (rcodeName, first) => {
    const h = await startHarness({ upstreams: [first, behaviors.normal()] });
    const result = await h.ask(encodeQuery('retry.test'));
    expect(result).toMatchObject({ kind: 'answer', upstream: h.upstreams[1]!.address });
    expect(h.pool.health()[0]).toEqual({
      upstream: h.upstreams[0]!.address,
      consecutiveFailures: 1,
      failures: {
        timeout: 0,
        servfail: rcodeName === 'SERVFAIL' ? 1 : 0,
        refused: rcodeName === 'REFUSED' ? 1 : 0,
        error: 0,
      },
      lastError: `${h.upstreams[0]!.address} answered ${rcodeName}`,
    });
  });

  test.each<[string, Behavior[], string]>([
    ['all SERVFAIL', [behaviors.servfail(), behaviors.servfail()], 'servfail'],
    ['timeout then REFUSED', [behaviors.blackhole(), behaviors.refused()], 'refused'],
    ['REFUSED then timeout', [behaviors.refused(), behaviors.blackhole()], 'timeout'],
  ])('%s fails with the last reason', async (_label, upstreams, reason) => {
    const h = await startHarness({ upstreams, timeoutMs: 100 });
    const result = await h.ask(encodeQuery('fail.test'));
    expect(result).toMatchObject({ kind: 'failed', reason });
    expect(h.completions).toHaveLength(1);
  });

  test('an upstream failing 3 times in a row is demoted, and restored once it answers again', async () => {
    const h = await startHarness({ upstreams: [behaviors.blackhole(), behaviors.normal()], timeoutMs: 100 });
    const [primary, secondary] = h.upstreams;
    for (let i = 0; i < 3; i++) {
      expect(await h.ask(encodeQuery(`d${i}.test`))).toMatchObject({ upstream: secondary!.address });
    }
    expect(h.pool.health()[0]).toMatchObject({ consecutiveFailures: 3 });
    expect(h.logs.some((l) => l.msg === 'upstream marked unhealthy' && l['upstream'] === primary!.address)).toBe(true);

    // Demoted: the next query goes straight to the secondary, with no timeout first.
    const start = performance.now();
    expect(await h.ask(encodeQuery('d3.test'))).toMatchObject({ upstream: secondary!.address });
    expect(performance.now() - start).toBeLessThan(100);
    expect(primary!.queries).toHaveLength(3);

    // The primary recovers and the secondary breaks: tried second, the primary answers and is restored.
    primary!.setBehavior(behaviors.normal());
    secondary!.setBehavior(behaviors.blackhole());
    expect(await h.ask(encodeQuery('d4.test'))).toMatchObject({ upstream: primary!.address });
    expect(h.pool.health()[0]).toEqual({
      upstream: primary!.address,
      consecutiveFailures: 0,
      failures: { timeout: 3, servfail: 0, refused: 0, error: 0 },
      lastError: expect.stringContaining('did not answer'),
    });
    expect(h.logs.some((l) => l.msg === 'upstream healthy again')).toBe(true);

    // Back in configuration order: the primary first, no timeout.
    const secondaryQueries = secondary!.queries.length;
    expect(await h.ask(encodeQuery('d5.test'))).toMatchObject({ upstream: primary!.address });
    expect(secondary!.queries).toHaveLength(secondaryQueries);
  });

  test('close() fails pending queries with error, and later queries too', async () => {
    const h = await startHarness({ upstreams: [behaviors.blackhole()], timeoutMs: 5000 });
    const pending = h.ask(encodeQuery('pending.test'));
    await h.upstreams[0]!.waitForQueries(1);
    await h.pool.close();
    expect(await pending).toMatchObject({ kind: 'failed', reason: 'error' });
    expect(await h.ask(encodeQuery('after.test'))).toMatchObject({ kind: 'failed', reason: 'error' });
    expect(h.completions).toHaveLength(2);
    await h.pool.close(); // idempotent
  });

  test('close() also ends a pending TCP retry', async () => {
    const h = await startHarness({
      upstreams: [(q) => (q.transport === 'udp' ? behaviors.truncated() : behaviors.blackhole())],
      timeoutMs: 5000,
    });
    const pending = h.ask(encodeQuery('tcp-pending.test'));
    await h.upstreams[0]!.waitForQueries(2);
    await h.pool.close();
    expect(await pending).toMatchObject({ kind: 'failed', reason: 'error' });
  });
});
