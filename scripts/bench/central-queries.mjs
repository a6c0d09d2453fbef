#!/usr/bin/env node
/**
 * The fleet API's reads at scale (issue 15: <= 100 ms per API query at 10M events).
 *
 *   npm run build && node scripts/bench/central-queries.mjs
 *
 * Starts a throwaway PostgreSQL 15 cluster (Debian's binaries; as the postgres user when run as
 * root) on a free loopback port, migrates it (src/central/migrations.ts), creates the day
 * partitions of the last BENCH_DAYS days (default 30; 90, the default retention, gives ~93
 * partitions) (event-partitions.ts) and seeds BENCH_ROWS events (default 10,000,000) with
 * generate_series: 2 instances, 5,000 hosts, 200 pool apexes with 10 names each (50,000 events per
 * apex), spread evenly over those days. Then runs every read of fleet-queries.ts
 * 5 times (after one warm-up) and prints the median and the max of each, and PostgreSQL's planning
 * and execution time of one run (EXPLAIN ANALYZE of its statements). BENCH_PG_URL: use that database instead (seeded only when
 * central_events is empty). BENCH_FROM_V2=1: seed schema version 2 instead and time the migration
 * to the partitioned table. BENCH_PLAN=1 also prints the plan of the domain read's first window.
 * Prints numbers; never fails on a missed target.
 */
import pg from 'pg';
import { startBenchCluster } from './pg-cluster.mjs';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const RUNS = 5;
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const DAY_MS = 86_400_000;

/** ROWS events in batches of 1M (one generate_series each), evenly over DAYS days up to nowMs. */
async function seed(client, nowMs) {
  const startMs = nowMs - DAYS * DAY_MS;
  const stepMs = (DAYS * DAY_MS) / ROWS;
  const batch = 1_000_000;
  for (let from = 1; from <= ROWS; from += batch) {
    const to = Math.min(ROWS, from + batch - 1);
    await client.query(
      `INSERT INTO central_events (instance, local_id, time_ms, client_ip, client_port, protocol, qname, rname, qtype,
  list, rule, action, answer, via, count, last_ms, identity)
SELECT 'i' || (i % 2), i, $1::bigint + floor(i * $2::float8)::bigint,
  '10.' || ((i * 7919) % 5000 / 250) || '.' || ((i * 7919) % 5000 % 250) || '.1', 40000 + i % 20000, 'udp',
  CASE WHEN sub = 0 THEN 'pool' || apex || '.example' ELSE 'w' || sub || '.pool' || apex || '.example' END,
  CASE WHEN sub = 0 THEN 'example.pool' || apex || '.' ELSE 'example.pool' || apex || '.w' || sub || '.' END,
  1, CASE WHEN i % 10 = 0 THEN 'doh' ELSE 'mining-pools' END, 'pool' || apex || '.example',
  CASE WHEN i % 10 = 0 THEN 'alerted' ELSE 'blocked' END, 'nxdomain', NULL, 1, NULL, NULL
FROM (SELECT i, (i * 31) % 200 AS apex, (i * 13) % 10 AS sub FROM generate_series($3::bigint, $4::bigint) AS i) AS g`,
      [startMs, stepMs, from, to],
    );
    process.stderr.write(`  seeded ${to.toLocaleString('en-US')} rows\n`);
  }
  await client.query(
    `INSERT INTO central_hosts (client_ip, instance, first_seen_ms, last_seen_ms, blocked_count)
SELECT client_ip, instance, min(time_ms), max(time_ms), count(*) FROM central_events GROUP BY client_ip, instance`,
  );
  await client.query(
    `INSERT INTO central_incidents (client_ip, state, opened_ms, last_seen_ms, attempts, instances)
SELECT client_ip, 'open', min(first_seen_ms), max(last_seen_ms), sum(blocked_count), array_agg(instance)
FROM central_hosts GROUP BY client_ip`,
  );
  await client.query('VACUUM ANALYZE');
}

function count(n) {
  return Math.round(n).toLocaleString('en-US');
}

function stats(runs) {
  const sorted = [...runs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}

const { CENTRAL_MIGRATIONS, migrateCentral } = await import('../../dist/central/migrations.js');
const { ensureEventPartitions, dayOf } = await import('../../dist/central/event-partitions.js');
const { fleetEvents, fleetHosts, fleetIncidents } = await import('../../dist/central/fleet-queries.js');

const cluster =
  process.env.BENCH_PG_URL === undefined
    ? await startBenchCluster('poolsink-bench-pgq-', { fsync: 'off', synchronous_commit: 'off', max_wal_size: '4GB' })
    : undefined;
const client = new pg.Client({ connectionString: process.env.BENCH_PG_URL ?? cluster.url });
await client.connect();
try {
  const nowMs = Date.now();
  let migrationLine = '';
  if (process.env.BENCH_FROM_V2 !== undefined && cluster !== undefined) {
    // Seeded into schema version 2 (one unpartitioned table), then timed while migrating.
    await client.query(`CREATE TABLE poolsink_schema (
  version int PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const migration of CENTRAL_MIGRATIONS.filter((m) => m.version <= 2)) {
      await client.query(migration.sql);
      await client.query('INSERT INTO poolsink_schema (version, description) VALUES ($1, $2)', [
        migration.version,
        migration.description,
      ]);
    }
    await seed(client, nowMs);
    const migrationStart = performance.now();
    await migrateCentral(client);
    await client.query('VACUUM ANALYZE central_events');
    migrationLine = `  migration from version 2 with ${ROWS.toLocaleString('en-US')} events: ${((performance.now() - migrationStart) / 1000).toFixed(1)} s (with VACUUM ANALYZE)`;
    await ensureEventPartitions(client, dayOf(nowMs) - 1, dayOf(nowMs) + 2);
  }
  await migrateCentral(client);
  const existing = Number((await client.query('SELECT count(*) AS n FROM central_events')).rows[0].n);
  if (existing === 0) {
    await ensureEventPartitions(client, dayOf(nowMs) - DAYS - 1, dayOf(nowMs) + 2);
    const seedStart = performance.now();
    await seed(client, nowMs);
    process.stderr.write(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(0)} s\n`);
  }
  const { rows: totals } = await client.query('SELECT count(*) AS n, min(time_ms) AS oldest FROM central_events');
  const rows = Number(totals[0].n);
  const { rows: sizes } = await client.query(
    `SELECT count(*) AS partitions, sum(pg_total_relation_size(inhrelid)) AS bytes FROM pg_inherits
WHERE inhparent = 'central_events'::regclass`,
  );
  const partitions = Number(sizes[0].partitions);
  const bytesPerEvent = Math.round(Number(sizes[0].bytes) / Math.max(rows, 1));
  // A page that starts DAYS - 1 days back (the last windows of the domain read).
  const oldestMs = Number(totals[0].oldest) + DAY_MS;
  // Reads go through `reader`: plain, or recording their statements for serverTimes.
  let recorded;
  const reader = {
    query(text, params) {
      recorded?.push([text, params]);
      return client.query(text, params);
    },
  };
  /** PostgreSQL's planning and execution time of one read (EXPLAIN ANALYZE of each statement, summed). */
  async function serverTimes(read) {
    recorded = [];
    await read();
    const statements = recorded;
    recorded = undefined;
    let planMs = 0;
    let executionMs = 0;
    for (const [text, params] of statements) {
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
      planMs += rows[0]['QUERY PLAN'][0]['Planning Time'];
      executionMs += rows[0]['QUERY PLAN'][0]['Execution Time'];
    }
    return { planMs, executionMs };
  }
  const events = (filter, cursor) => fleetEvents(reader, filter, 100, cursor, nowMs);
  const newest = await events({});
  const byDomain = await events({ domain: 'pool7.example' });
  const reads = [
    ['events: newest page', () => events({})],
    ['events: next page (cursor)', () => events({}, newest.nextCursor)],
    ['events: by client', () => events({ client: '10.3.17.1' })],
    [`events: by exact name (${count(ROWS / 2000)} events)`, () => events({ domain: 'w1.pool7.example' })],
    [`events: domain + subdomains (${count(ROWS / 200)} events)`, () => events({ domain: 'pool7.example' })],
    ['events: domain + subdomains, next page', () => events({ domain: 'pool7.example' }, byDomain.nextCursor)],
    [
      `events: domain, page ${DAYS - 1} days back`,
      () => events({ domain: 'pool7.example' }, { timeMs: oldestMs, id: 0 }),
    ],
    ['events: domain matching every event', () => events({ domain: 'example' })],
    ['events: domain matching nothing', () => events({ domain: 'nothing.example' })],
    ['events: by instance', () => events({ instance: 'i1' })],
    ['events: by list', () => events({ list: 'doh' })],
    ['events: since 24h', () => events({ sinceMs: nowMs - DAY_MS })],
    ['events: domain + client (none match)', () => events({ domain: 'pool7.example', client: '10.3.17.1' })],
    ['hosts', () => fleetHosts(reader, {}, 100)],
    ['hosts: since 24h, one instance', () => fleetHosts(reader, { instance: 'i0', sinceMs: nowMs - DAY_MS }, 100)],
    ['incidents', () => fleetIncidents(reader, {}, 100)],
    ['incidents: of one client', () => fleetIncidents(reader, { client: '10.3.17.1' }, 100)],
  ];
  const lines = [];
  for (const [name, read] of reads) {
    await read();
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await read();
      runs.push(performance.now() - t0);
    }
    const { median, max } = stats(runs);
    const { planMs, executionMs } = await serverTimes(read);
    lines.push(
      `  ${name.padEnd(46)} ${median.toFixed(1).padStart(8)} ${max.toFixed(1).padStart(8)} ${planMs.toFixed(1).padStart(8)} ${executionMs.toFixed(1).padStart(8)}`,
    );
  }
  // The first window of the domain read (event-windows.ts): the last hour's keys, index-only.
  const plan = await client.query(
    `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT time_ms, id FROM central_events
WHERE rname >= 'example.pool7.' AND rname < 'example.pool7/' AND time_ms >= $1
ORDER BY time_ms DESC, id DESC LIMIT 101`,
    [nowMs - 3_600_000],
  );
  process.stdout.write(
    [
      `central PostgreSQL reads: ${rows.toLocaleString('en-US')} events in ${partitions} partitions (${bytesPerEvent} bytes per event with indexes), ${RUNS} runs each after a warm-up (target <= 100 ms)`,
      `  ${'read'.padEnd(46)} ${'median'.padStart(8)} ${'max'.padStart(8)} ${'plan'.padStart(8)} ${'execute'.padStart(8)}   (ms; plan + execute: PostgreSQL's, one EXPLAIN ANALYZE)`,
      ...lines,
      ...(migrationLine !== '' ? [migrationLine] : []),
      '',
    ].join('\n'),
  );
  if (process.env.BENCH_PLAN !== undefined)
    process.stdout.write(`${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
} finally {
  await client.end();
  cluster?.close();
}
