import { describe, expect, test } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { zeroCounters } from '../../src/dns/resolver-counters.js';
import { sumHistograms, sumSnapshots, type WorkerSnapshot } from '../../src/cluster/snapshot.js';

const ZERO = { sent: 0, answered: 0, timeouts: 0, mismatched: 0, tcpRetries: 0, errors: 0 };

function snapshot(workerId: number, queries: number, failures: number, consecutive: number): WorkerSnapshot {
  return {
    workerId,
    pid: 1000 + workerId,
    countersByProtocol: { udp: { ...zeroCounters(), queries, blocked: 1 }, tcp: { ...zeroCounters(), queries: 1 } },
    pending: 2,
    cacheEntries: 10,
    upstreamStats: { ...ZERO, sent: queries },
    upstreamHealth: [
      {
        upstream: '127.0.0.1:53',
        consecutiveFailures: consecutive,
        failures: { timeout: failures, servfail: 0, refused: 0, error: 0 },
        ...(consecutive > 0 ? { lastError: `error of ${workerId}` } : {}),
      },
    ],
    rateLimit: { refused: 1, dropped: 0, clients: 3 },
    histograms: [],
    rssBytes: 1,
  };
}

describe('sums over workers', () => {
  test('counters, gauges and upstream stats add up; health shows the worst run and all failures', () => {
    const totals = sumSnapshots([snapshot(0, 5, 1, 0), snapshot(1, 7, 2, 3)], ZERO);
    expect(totals.counters.queries).toBe(14);
    expect(totals.countersByProtocol.udp.queries).toBe(12);
    expect(totals.counters.blocked).toBe(2);
    expect(totals.pending).toBe(4);
    expect(totals.cacheEntries).toBe(20);
    expect(totals.upstreamStats.sent).toBe(12);
    expect(totals.rateLimit).toEqual({ refused: 2, dropped: 0, clients: 6 });
    expect(totals.upstreamHealth).toEqual([
      {
        upstream: '127.0.0.1:53',
        consecutiveFailures: 3,
        failures: { timeout: 3, servfail: 0, refused: 0, error: 0 },
        lastError: 'error of 1',
      },
    ]);
  });

  test('no workers: zeros', () => {
    expect(sumSnapshots([], ZERO).counters.queries).toBe(0);
  });

  test('histograms add up bucket by bucket', async () => {
    const histogramsOf = async (count: number) => {
      const registry = new Registry();
      const histogram = new Histogram({
        name: 'poolsink_dns_answer_duration_seconds',
        help: 'h',
        labelNames: ['outcome'],
        buckets: [0.1],
        registers: [registry],
      });
      for (let i = 0; i < count; i++) histogram.observe({ outcome: 'answered' }, 0.5 / count);
      return registry.getMetricsAsJSON();
    };
    const workers = [
      { ...snapshot(0, 5, 0, 0), histograms: await histogramsOf(5) },
      { ...snapshot(1, 7, 0, 0), histograms: await histogramsOf(7) },
    ];
    const text = await sumHistograms(workers).metrics();
    expect(text).toContain('poolsink_dns_answer_duration_seconds_count{outcome="answered"} 12');
    expect(text).toContain('poolsink_dns_answer_duration_seconds_bucket{le="+Inf",outcome="answered"} 12');
    expect(Number(/_sum\{outcome="answered"\} (\S+)/.exec(text)?.[1])).toBeCloseTo(1);
  });
});
