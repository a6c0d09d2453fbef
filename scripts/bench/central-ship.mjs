#!/usr/bin/env node
/**
 * Fleet shipping throughput (issue 15): block events per second into PostgreSQL, next to the local
 * SQLite write rate they are shipped from, and the fleet API's query times at that table size.
 *
 *   npm run build && node scripts/bench/central-ship.mjs
 *
 * Starts a throwaway PostgreSQL 15 cluster (Debian's binaries; as the postgres user when run as
 * root) on a free loopback port, one poolsink (dist/) shipping to it, records BENCH_CENTRAL_EVENTS
 * events (default 200,000) through the event writer, and times (1) until SQLite holds them all and
 * (2) until PostgreSQL does. Then times GET /api/v1/fleet/events pages (newest, by client, by
 * domain) and GET /api/v1/fleet/hosts. Prints numbers; never fails on a missed target.
 * BENCH_CENTRAL_BATCH sets central.postgres.batchSize (default 2,000).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startBenchCluster } from './pg-cluster.mjs';
import { pino } from 'pino';

const EVENTS = Number(process.env.BENCH_CENTRAL_EVENTS ?? 200_000);
const BATCH = Number(process.env.BENCH_CENTRAL_BATCH ?? 2_000);

async function waitFor(condition) {
  for (;;) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function rate(count, ms) {
  return Math.round((count / ms) * 1000).toLocaleString('en-US');
}

const { validateConfig } = await import('../../dist/config/load.js');
const { startPoolsink } = await import('../../dist/main.js');
const cluster = await startBenchCluster('poolsink-bench-pg-', { synchronous_commit: 'off' });
const dir = mkdtempSync(join(tmpdir(), 'poolsink-bench-central-'));
writeFileSync(join(dir, 'pools.txt'), 'pool.example\n');
const config = validateConfig(
  {
    dns: { listen: ['127.0.0.1:0'] },
    upstreams: ['127.0.0.1:9'],
    blocklists: [{ name: 'pools', source: join(dir, 'pools.txt') }],
    dataDir: join(dir, 'data'),
    admin: { listen: '127.0.0.1:0' },
    incidents: { enabled: true },
    database: { maxBufferedEvents: Math.max(EVENTS, 1000) },
    instance: { name: 'bench' },
    central: { postgres: { url: cluster.url, shipIntervalMs: 20, batchSize: BATCH } },
  },
  dir,
  join(dir, 'no-resolv.conf'),
);
const poolsink = await startPoolsink(config, { log: pino({ level: 'silent' }) });
const central = new pg.Client({ connectionString: cluster.url });
await central.connect();
try {
  const localCount = () => poolsink.store.db.prepare('SELECT count(*) AS n FROM events').get().n;
  // The events committed, as the instance's row counts them (a count(*) of central_events every
  // 20 ms took a third of the machine from the shipping it measures); 0 until its first contact.
  const centralCount = async () =>
    Number(
      (
        await central
          .query("SELECT shipped_events AS n FROM central_instances WHERE name = 'bench'")
          .catch(() => ({ rows: [] }))
      ).rows[0]?.n ?? 0,
    );
  const baseMs = Date.now() - EVENTS;
  const startMs = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    poolsink.eventWriter.record({
      timeMs: baseMs + i,
      clientIp: `10.0.${(i >> 8) & 3}.${i & 255}`, // 1,024 hosts
      clientPort: 40000 + (i % 20000),
      protocol: 'udp',
      qname: `w${i % 5000}.pool.example`,
      qtype: 1,
      list: 'pools',
      rule: 'pool.example',
      action: 'blocked',
      answer: 'nxdomain',
    });
  }
  poolsink.eventWriter.flush();
  await waitFor(() => localCount() >= EVENTS);
  const localMs = performance.now() - startMs;
  await waitFor(async () => (await centralCount()) >= EVENTS);
  const shippedMs = performance.now() - startMs;
  const api = async (path) => {
    const t0 = performance.now();
    const response = await fetch(`http://127.0.0.1:${poolsink.admin.address.port}${path}`, {
      headers: { authorization: `Bearer ${poolsink.adminToken}` },
    });
    await response.json();
    return performance.now() - t0;
  };
  const timings = {};
  for (const [name, path] of [
    ['newest page', '/api/v1/fleet/events?limit=100'],
    ['by client', '/api/v1/fleet/events?client=10.0.1.1&limit=100'],
    ['by domain', '/api/v1/fleet/events?domain=w42.pool.example&limit=100'],
    ['by instance', '/api/v1/fleet/events?instance=bench&limit=100'],
    ['hosts', '/api/v1/fleet/hosts?limit=100'],
  ]) {
    await api(path); // warm
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await api(path));
    runs.sort((a, b) => a - b);
    timings[name] = runs[2];
  }
  // The SQL alone (no HTTP, no JSON), to tell PostgreSQL's share from the API's.
  const sqlStart = performance.now();
  await central.query('SELECT id FROM central_events ORDER BY time_ms DESC, id DESC LIMIT 101');
  const sqlMs = performance.now() - sqlStart;
  const plan = (
    await central.query('EXPLAIN SELECT id FROM central_events ORDER BY time_ms DESC, id DESC LIMIT 101')
  ).rows
    .map((r) => r['QUERY PLAN'])
    .join(' / ');
  process.stdout.write(
    [
      `central shipping: ${EVENTS.toLocaleString('en-US')} events, batchSize ${BATCH}`,
      `  local SQLite write: ${rate(EVENTS, localMs)} events/s (${Math.round(localMs)} ms until all were in SQLite)`,
      `  shipped into PostgreSQL: ${rate(EVENTS, shippedMs)} events/s end to end (${Math.round(shippedMs)} ms until all were in PostgreSQL)`,
      `  fleet API median at ${EVENTS.toLocaleString('en-US')} central events (target <= 100 ms at 10M):`,
      ...Object.entries(timings).map(([name, ms]) => `    ${name}: ${ms.toFixed(1)} ms`),
      `  newest page, SQL alone: ${sqlMs.toFixed(1)} ms (${plan})`,
      '',
    ].join('\n'),
  );
} finally {
  await central.end();
  await poolsink.close();
  cluster.close();
  rmSync(dir, { recursive: true, force: true });
}
