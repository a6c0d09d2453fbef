/**
 * The block log bench: seeds a database with 10,000,000 events from 5,000 hosts over 30 days, times
 * the admin API's queries over it (each must answer in at most 100 ms), then pushes 40,000 events
 * per second for 10 s through the real event writer (every event must reach the database, none
 * dropped). Uses the built code in dist/ (`npm run build`).
 *
 * Seeding writes the events with the writer's own batch code (createBatchWriter: the same INSERT and
 * the same host, domain and hourly rollup upserts), with the events table's indexes dropped during
 * the bulk load and recreated from their stored definitions afterwards, as a bulk import would.
 *
 *   node scripts/bench/store-seed.mjs             all parts, temp file removed afterwards
 * Environment (all optional):
 *   STORE_BENCH_EVENTS     events to seed (10000000)
 *   STORE_BENCH_HOSTS      distinct hosts (5000)
 *   STORE_BENCH_PATH       database file (default: a new temp dir); reused if it exists and
 *                          STORE_BENCH_REUSE=1
 *   STORE_BENCH_KEEP       1 = keep the database file
 *   STORE_BENCH_ONLY       comma list of seed, queries, writer (all)
 *   STORE_BENCH_RATE, STORE_BENCH_SECONDS   writer load (40000 events/s, 10 s)
 *   STORE_BENCH_COALESCE_MS  database.coalesceWindowMs for the writer load (10000, the default;
 *                          0 = a row per event, the worst case). Events come from 5,000 hosts,
 *                          each mostly querying its own pool's few names, as miners retrying do
 *   STORE_BENCH_CACHE_KIB  the bench's own (reading) connection's SQLite page cache (the store's
 *                          default: 65536)
 *   STORE_BENCH_WRITER_CACHE_KIB, STORE_BENCH_MMAP_BYTES, STORE_BENCH_CHECKPOINT_PAGES   the writer
 *                          thread's connection: cache_size, mmap_size, wal_autocheckpoint (store
 *                          defaults: 65536 KiB, 0, 10000 pages)
 *   STORE_BENCH_MAX_BATCH, STORE_BENCH_ROLLUP_KEYS, STORE_BENCH_MAX_BUFFERED   the writer thread's
 *                          backlog transaction size, rollup keys summed before a forced write, and
 *                          events held across both threads (database.maxBufferedEvents)
 *   STORE_BENCH_WRITER_ONLY  1 = the writer part prints only its sustained line (no batch micro-bench)
 *
 * The writer part's first line answers "does a 10M-event log sustain 40k events/s": offered,
 * written, dropped, the writer thread's CPU per written event (its own schedstat), seconds to drain
 * after the last event, and the rows the log held. Seed once, then measure against copies:
 *   STORE_BENCH_PATH=/tmp/seed.db STORE_BENCH_KEEP=1 STORE_BENCH_ONLY=seed node scripts/bench/store-seed.mjs
 *   cp /tmp/seed.db /tmp/run.db && STORE_BENCH_PATH=/tmp/run.db STORE_BENCH_REUSE=1 STORE_BENCH_KEEP=1 \
 *     STORE_BENCH_ONLY=writer node scripts/bench/store-seed.mjs
 *
 * runStoreBench(options) does the same for scripts/bench.mjs and returns the numbers.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { seededRandom } from './data.mjs';
import { seedDashboardRows } from './dashboard-rows.mjs';
import { sampleCpu, threadRunNs } from './proc-cpu.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST_STORE = join(ROOT, 'dist', 'store');
const TARGET_QUERY_MS = 100;
const DAY_MS = 86_400_000;
const PARTS = ['seed', 'queries', 'writer'];
const BASE_DOMAINS = 300;
const SUBDOMAINS = 10;
const LISTS = 5;

async function loadStore() {
  const need = [
    'database.js',
    'batch-writer.js',
    'day-rollups.js',
    'event-writer.js',
    'queries.js',
    'writer-thread.js',
    'reader-thread.js',
  ];
  for (const file of need) {
    if (!existsSync(join(DIST_STORE, file))) {
      throw new Error(`dist/store/${file} not found: run \`npm run build\` first (npm run bench does)`);
    }
  }
  const modules = await Promise.all(need.map((file) => import(pathToFileURL(join(DIST_STORE, file)).href)));
  return Object.assign({}, ...modules);
}

function baseDomain(b) {
  return `pool-${b}.mining-${b % 17}.test`;
}

function hostIp(h) {
  return `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}`;
}

/**
 * Event i of n, spread evenly over [startMs, endMs). Host activity is skewed (a few hosts very
 * noisy, like real miners); each host mostly queries its own pool.
 */
export function makeEventFactory({ events, hosts, startMs, endMs, seed = 42 }) {
  const random = seededRandom(seed);
  const stepMs = (endMs - startMs) / events;
  const ips = Array.from({ length: hosts }, (_, h) => hostIp(h));
  const bases = Array.from({ length: BASE_DOMAINS }, (_, b) => baseDomain(b));
  const names = bases.map((base) =>
    Array.from({ length: SUBDOMAINS }, (_, sub) => (sub === 0 ? base : `s${sub}.${base}`)),
  );
  const lists = Array.from({ length: LISTS }, (_, l) => `list-${l}`);
  /** Fills `into` (or a new object) with event i. */
  return (i, into = {}) => {
    const r = random();
    const h = Math.min(hosts - 1, Math.floor(hosts * r * r));
    const b = random() < 0.8 ? h % BASE_DOMAINS : Math.floor(random() * BASE_DOMAINS);
    const list = b % LISTS;
    const alerted = list === LISTS - 1;
    const extra = random();
    into.timeMs = Math.floor(startMs + i * stepMs);
    into.clientIp = ips[h];
    into.clientPort = 1024 + Math.floor(extra * 60000);
    into.protocol = extra < 0.05 ? 'tcp' : 'udp';
    into.qname = names[b][Math.floor(random() * SUBDOMAINS)];
    into.qtype = extra < 0.2 ? 28 : 1;
    into.list = lists[list];
    into.rule = bases[b];
    into.action = alerted ? 'alerted' : 'blocked';
    into.answer = alerted ? 'forwarded' : 'nxdomain';
    return into;
  };
}

/** A `clients` filter for a CIDR, as the admin API builds it. */
async function cidrFilter(q, cidr) {
  const set = await q.clientsIn(cidr);
  if (set.kind !== 'clients') throw new Error(`${cidr}: more than ${set.max} hosts`);
  return { clients: set.clients };
}

function fmt(ms) {
  return ms.toFixed(ms < 10 ? 2 : 1);
}

async function seed(store, path, settings, print) {
  const log = pino({ level: 'silent' });
  const t0 = performance.now();
  const db = store.openDatabase(path, { log });
  const indexes = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL")
    .all();
  for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);
  // A bulk load into a scratch file: no journal, no syncs (WAL comes back at the end).
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  const writer = store.createBatchWriter(db);
  const endMs = Date.now();
  const startMs = endMs - settings.days * DAY_MS;
  const makeEvent = makeEventFactory({ events: settings.events, hosts: settings.hosts, startMs, endMs });
  const chunk = 500_000;
  const batch = Array.from({ length: chunk }, () => ({}));
  for (let start = 0; start < settings.events; start += chunk) {
    const n = Math.min(chunk, settings.events - start);
    for (let j = 0; j < n; j += 1) makeEvent(start + j, batch[j]);
    const rollups = store.createRollups();
    store.addEvents(rollups, batch, 0, n);
    writer.write(batch, 0, n, rollups);
    if ((start / chunk) % 4 === 3)
      print(`  seeded ${((start + n) / 1e6).toFixed(1)}M events (${fmt((performance.now() - t0) / 1000)} s)`);
  }
  seedDashboardRows(db, { startMs, endMs, hosts: settings.hosts });
  // The complete days into host_days / domain_days, as the writer thread's pruner does (day-rollups.ts).
  store.compactCompleteDays(db, endMs);
  const tInsert = performance.now();
  for (const index of indexes) db.exec(index.sql);
  const tIndex = performance.now();
  db.pragma('journal_mode = WAL');
  db.close();
  const seconds = (performance.now() - t0) / 1000;
  const sizeMb = statSync(path).size / 1e6;
  print(
    `seed: ${settings.events} events, ${settings.hosts} hosts, ${settings.days} days in ${fmt(seconds)} s ` +
      `(insert + rollups ${fmt((tInsert - t0) / 1000)} s, indexes ${fmt((tIndex - tInsert) / 1000)} s), ${sizeMb.toFixed(0)} MB`,
  );
  return { seconds, sizeMb, startMs, endMs };
}

function middle(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Wall and CPU ms of each run: the first (cold cache) and the median of the others. */
async function timeQuery(fn, runs) {
  const times = [];
  const cpus = [];
  let result;
  for (let i = 0; i < runs; i += 1) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    result = await fn();
    times.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000);
  }
  return {
    first: times[0],
    median: middle(times.slice(1)),
    max: Math.max(...times),
    cpuMedian: middle(cpus.slice(1)),
    result,
  };
}

async function queries(store, path, print) {
  const log = pino({ level: 'silent' });
  let t0 = performance.now();
  store.openDatabase(path, { log, quickCheckMaxBytes: Number.POSITIVE_INFINITY }).close();
  const quickCheckOpenMs = performance.now() - t0;
  t0 = performance.now();
  const connection = store.openStoreConnection(path, { log });
  const openMs = performance.now() - t0;
  print(
    `open: ${fmt(openMs)} ms (default: quick_check only up to 256 MiB); open with quick_check: ${fmt(quickCheckOpenMs)} ms`,
  );
  const now = Date.now();
  const noisy = hostIp(0);
  const quiet = hostIp(4321);
  /** The cases over `q`: EventQueries (in-process, synchronous) or the reader thread (promises). */
  const casesFor = (q) => [
    ['hosts(limit 100)', () => q.hosts(undefined, 100)],
    ['hosts(since 24h, limit 1000)', () => q.hosts(now - DAY_MS, 1000)],
    ['host(noisy, 50 recent)', () => q.host(noisy, 50)],
    ['stats(since 24h, top 10)', () => q.stats(now - DAY_MS, 10)],
    ['stats(since 1h, top 10)', () => q.stats(now - DAY_MS / 24, 10)],
    ['stats(since 7d, top 10)', () => q.stats(now - 7 * DAY_MS, 10)],
    ['stats(since 30d, top 10)', () => q.stats(now - 30 * DAY_MS, 10)],
    ['timeseries(24h)', () => q.timeseries('24h', now, false)],
    ['timeseries(7d)', () => q.timeseries('7d', now, false)],
    ['timeseries(30d)', () => q.timeseries('30d', now, false)],
    ['timeseries(24h, outcomes)', () => q.timeseries('24h', now, true)],
    ['timeseries(7d, outcomes)', () => q.timeseries('7d', now, true)],
    ['timeseries(30d, outcomes)', () => q.timeseries('30d', now, true)],
    ['overview(24h, top 10)', () => q.overview(now - DAY_MS, 10)],
    [
      'hostsPage(limit 100, page 3)',
      async () => {
        let page = await q.hostsPage(undefined, 100);
        for (let i = 0; i < 2 && page.nextCursor !== undefined; i += 1)
          page = await q.hostsPage(undefined, 100, page.nextCursor);
        return page.hosts;
      },
    ],
    ['events(no filter, 100)', () => q.events({}, 100)],
    ['events(client noisy, 100)', () => q.events({ client: noisy }, 100)],
    ['events(client quiet, 100)', () => q.events({ client: quiet }, 100)],
    ['events(domain base, 100)', () => q.events({ domain: baseDomain(7) }, 100)],
    ['events(domain one sub, 100)', () => q.events({ domain: `s3.${baseDomain(7)}` }, 100)],
    ['events(domain broad "test", 100)', () => q.events({ domain: 'test' }, 100)],
    ['events(domain none, 100)', () => q.events({ domain: 'nothing-here.example' }, 100)],
    ['events(list-2, 100)', () => q.events({ list: 'list-2' }, 100)],
    ['events(action alerted, 100)', () => q.events({ action: 'alerted' }, 100)],
    [
      'events(client+domain+since 7d, 100)',
      () => q.events({ client: noisy, domain: baseDomain(0), sinceMs: now - 7 * DAY_MS }, 100),
    ],
    // A client CIDR: the known hosts in it (hosts table), then their events merged.
    ['clientsIn(10.0.0.0/16: every host)', () => q.clientsIn('10.0.0.0/16')],
    ['events(client 10.0.0.0/24: busy, 100)', async () => q.events(await cidrFilter(q, '10.0.0.0/24'), 100)],
    ['events(client 10.0.16.0/24: quiet, 100)', async () => q.events(await cidrFilter(q, '10.0.16.0/24'), 100)],
    ['events(client 10.0.0.0/16: 5000 hosts, 100)', async () => q.events(await cidrFilter(q, '10.0.0.0/16'), 100)],
    [
      'events(client /24 quiet, page 5 via cursor)',
      async () => {
        const filter = await cidrFilter(q, '10.0.16.0/24');
        let page = await q.events(filter, 100);
        for (let i = 0; i < 4 && page.nextCursor !== undefined; i += 1)
          page = await q.events(filter, 100, page.nextCursor);
        return page;
      },
    ],
    [
      'events(domain, page 5 via cursor)',
      async () => {
        let page = await q.events({ domain: baseDomain(11) }, 100);
        for (let i = 0; i < 4 && page.nextCursor !== undefined; i += 1)
          page = await q.events({ domain: baseDomain(11) }, 100, page.nextCursor);
        return page;
      },
    ],
  ];
  const results = [];
  for (const [name, fn] of casesFor(store.createEventQueries(connection))) {
    const { first, median, max, cpuMedian, result } = await timeQuery(fn, 7);
    const rows = Array.isArray(result) ? result.length : (result?.events?.length ?? (result === undefined ? 0 : 1));
    const pass = median <= TARGET_QUERY_MS;
    results.push({ name, firstMs: first, medianMs: median, maxMs: max, cpuMedianMs: cpuMedian, rows, pass });
    print(
      `  ${pass ? 'PASS' : 'FAIL'} ${name.padEnd(38)} median ${fmt(median).padStart(6)} ms (cpu ${fmt(cpuMedian).padStart(6)} ms)  ` +
        `first ${fmt(first).padStart(6)} ms  max ${fmt(max).padStart(6)} ms  (${rows} rows; target: median <= ${TARGET_QUERY_MS} ms)`,
    );
  }
  connection.close();
  const reader = await readerPass(store, path, casesFor, print);
  return { openMs, quickCheckOpenMs, results, reader };
}

/**
 * The same queries as the admin API runs them in poolsink: through the reader thread. The wall
 * time includes the thread hop; the event-loop delay is what this thread (the DNS thread in
 * poolsink) felt meanwhile: without the reader thread it would be each query's full duration.
 */
async function readerPass(store, path, casesFor, print) {
  const reader = await store.startReaderThread({ path, log: pino({ level: 'silent' }) });
  const results = [];
  const delay = monitorEventLoopDelay({ resolution: 1 });
  print('through the reader thread (as the admin API runs them):');
  try {
    delay.enable();
    for (const [name, fn] of casesFor(reader)) {
      const times = [];
      let result;
      for (let i = 0; i < 7; i += 1) {
        const t = performance.now();
        result = await fn();
        times.push(performance.now() - t);
      }
      const median = middle(times.slice(1));
      const rows = Array.isArray(result) ? result.length : (result?.events?.length ?? (result === undefined ? 0 : 1));
      const pass = median <= TARGET_QUERY_MS;
      results.push({ name, firstMs: times[0], medianMs: median, rows, pass });
      print(
        `  ${pass ? 'PASS' : 'FAIL'} ${name.padEnd(38)} median ${fmt(median).padStart(6)} ms  first ${fmt(times[0]).padStart(6)} ms  (${rows} rows)`,
      );
    }
    delay.disable();
  } finally {
    await reader.close();
  }
  const eventLoop = { p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
  print(
    `  this thread's event-loop delay over all of them: p99 ${fmt(eventLoop.p99Ms)} ms, max ${fmt(eventLoop.maxMs)} ms`,
  );
  return { results, eventLoop };
}

/** CPU time of this process's main thread (the DNS thread in poolsink), in µs (schedstat). */
function mainThreadCpuUs() {
  return sampleCpu(process.pid).mainRunNs / 1e3;
}

/** The process's resident set now and at its peak, in MB (/proc/self/status). */
function residentMb() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** The writer thread's SQLite settings the bench was asked for (absent: the store's defaults). */
function writerSqlite(settings) {
  const sqlite = {};
  if (settings.writerCacheKib !== undefined) sqlite.cacheSizeKib = settings.writerCacheKib;
  if (settings.mmapBytes !== undefined) sqlite.mmapSizeBytes = settings.mmapBytes;
  if (settings.checkpointPages !== undefined) sqlite.walAutocheckpointPages = settings.checkpointPages;
  return Object.keys(sqlite).length > 0 ? sqlite : undefined;
}

async function writerThroughput(store, path, settings, print) {
  const log = pino({ level: 'silent' });
  const connection = store.openStoreConnection(path, {
    log,
    quickCheckMaxBytes: 0,
    ...(settings.cacheSizeKib ? { cacheSizeKib: settings.cacheSizeKib } : {}),
  });
  const { before, dbRows } = connection.db
    .prepare('SELECT coalesce(max(id), 0) AS before, count(*) AS dbRows FROM events')
    .get();
  const sqlite = writerSqlite(settings);
  const threadsBefore = threadRunNs();
  // The production path: events packed here, written by the writer thread (its own connection).
  const writer = await store.startWriterThread({
    path,
    log,
    retentionDays: 3650,
    maxEvents: 1_000_000_000,
    coalesceWindowMs: settings.coalesceWindowMs,
    waitTimeoutMs: 600_000,
    ...(settings.maxBatchSize !== undefined ? { maxBatchSize: settings.maxBatchSize } : {}),
    ...(settings.maxBuffered !== undefined ? { maxBuffered: settings.maxBuffered } : {}),
    ...(settings.maxRollupKeys !== undefined ? { maxRollupKeys: settings.maxRollupKeys } : {}),
    ...(sqlite !== undefined ? { sqlite } : {}),
  });
  // The writer thread: the thread that started with it (worker threads share V8's helper threads).
  const writerTids = [...threadRunNs().keys()].filter((tid) => !threadsBefore.has(tid));
  const writerRunNs = () => {
    const now = threadRunNs();
    return writerTids.reduce((sum, tid) => sum + (now.get(tid) ?? 0), 0);
  };
  const makeEvent = makeEventFactory({
    events: 1_000_000,
    hosts: settings.hosts,
    startMs: Date.now(),
    endMs: Date.now() + 1000,
    seed: 7,
  });
  const total = settings.rate * settings.seconds;
  const pregenerated = Array.from({ length: Math.min(total, 1_000_000) }, (_, i) => makeEvent(i));
  const tickMs = 5;
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  let sent = 0;
  let mostBuffered = 0;
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuUs();
  const writer0 = writerRunNs();
  const t0 = performance.now();
  await new Promise((done) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * settings.rate));
      while (sent < due) {
        const event = pregenerated[sent % pregenerated.length];
        event.timeMs = Date.now();
        writer.record(event);
        sent += 1;
      }
      mostBuffered = Math.max(mostBuffered, writer.stats.buffered);
      if (sent >= total) {
        clearInterval(timer);
        done();
      }
    }, tickMs);
  });
  const sendSeconds = (performance.now() - t0) / 1000;
  const mainUsPerEvent = (mainThreadCpuUs() - main0) / total;
  lag.disable();
  // flush() waits (Atomics.wait) for the thread to write everything, the coalescer's open windows
  // included: not a pause DNS would see, only this bench's way to time the drain.
  const tSent = performance.now();
  writer.flush();
  const drainAfterSeconds = (performance.now() - tSent) / 1000;
  const drainSeconds = (performance.now() - t0) / 1000;
  const writerNs = writerRunNs() - writer0;
  const memory = residentMb();
  const stats = writer.stats;
  writer.close();
  await writer.exited;
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerEvent = (cpu.user + cpu.system) / total;
  const { rows, counted } = connection.db
    .prepare('SELECT count(*) AS rows, coalesce(sum(count), 0) AS counted FROM events WHERE id > ?')
    .get(before);
  const pass = counted === total && stats.dropped === 0;
  // Per event written: dropped events cost the writer little (a tally each).
  const writerUsPerEvent = writerNs / 1e3 / Math.max(1, counted);
  const knobs = sqlite === undefined ? 'store defaults' : JSON.stringify(sqlite);
  print(
    `  ${pass ? 'PASS' : 'FAIL'} sustained: offered ${total} events at ${settings.rate}/s for ${settings.seconds} s to a ` +
      `${(dbRows / 1e6).toFixed(1)}M-row log: written ${counted} (${rows} rows), dropped ${stats.dropped}; ` +
      `writer ${writerUsPerEvent.toFixed(1)} us/event; drained ${fmt(drainAfterSeconds)} s after the last ` +
      `(target: 0 dropped)`,
  );
  print(
    `    coalesceWindowMs ${settings.coalesceWindowMs}, writer SQLite ${knobs}, most buffered ${mostBuffered}, ` +
      `${stats.writeErrors} write errors; CPU ${cpuUsPerEvent.toFixed(1)} us per event in all, ` +
      `${mainUsPerEvent.toFixed(1)} us on the main thread while sending; main event loop delay p99 ` +
      `${fmt(lag.percentile(99) / 1e6)} ms, max ${fmt(lag.max / 1e6)} ms; RSS ${memory.rssMb.toFixed(0)} MB ` +
      `(peak ${memory.peakMb.toFixed(0)} MB)`,
  );
  if (settings.writerOnly === true) {
    connection.close();
    return {
      events: total,
      rows,
      counted,
      dbRows,
      dropped: stats.dropped,
      pass,
      drainSeconds,
      drainAfterSeconds,
      writerUsPerEvent,
      cpuUsPerEvent,
      mostBuffered,
      ...memory,
    };
  }

  // Cost of one batch and of record() itself, measured directly.
  const batchWriter = store.createBatchWriter(connection.db);
  const batch = Array.from({ length: 2000 }, (_, i) => ({ ...makeEvent(i), timeMs: Date.now() }));
  const batchTimes = [];
  for (let i = 0; i < 10; i += 1) {
    const t = performance.now();
    const rollups = store.createRollups();
    store.addEvents(rollups, batch, 0, batch.length);
    batchWriter.write(batch, 0, batch.length, rollups);
    batchTimes.push(performance.now() - t);
  }
  batchTimes.sort((a, b) => a - b);
  const batchMs = batchTimes[5];
  const sink = store.createEventWriter({
    connection,
    log,
    maxBuffered: 1_000_000,
    batchSize: 2_000_000,
    flushIntervalMs: 3_600_000,
  });
  const event = batch[0];
  const n = 1_000_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) sink.record(event);
  const nsPerRecord = Number(process.hrtime.bigint() - t) / n;
  print(
    `  batch of 2000 events (insert + rollups of the same 2000, one transaction): median ${fmt(batchMs)} ms; record(): ${nsPerRecord.toFixed(0)} ns per event`,
  );
  connection.close();
  return {
    events: total,
    rows,
    counted,
    dbRows,
    coalesceWindowMs: settings.coalesceWindowMs,
    dropped: stats.dropped,
    writeErrors: stats.writeErrors,
    pass,
    sendSeconds,
    drainSeconds,
    drainAfterSeconds,
    writerUsPerEvent,
    mostBuffered,
    ...memory,
    cpuUsPerEvent,
    mainUsPerEvent,
    loopDelayMaxMs: lag.max / 1e6,
    loopDelayP99Ms: lag.percentile(99) / 1e6,
    batchMs,
    nsPerRecord,
  };
}

/**
 * Runs the block log bench. options: { events, hosts, days, rate, seconds, path, reuse, keep,
 * parts: subset of ['seed', 'queries', 'writer'], print }. Resolves with every measured number.
 */
export async function runStoreBench(options = {}) {
  const print = options.print ?? ((line) => console.log(line));
  const settings = {
    events: options.events ?? 10_000_000,
    hosts: options.hosts ?? 5000,
    days: options.days ?? 30,
    rate: options.rate ?? 40_000,
    seconds: options.seconds ?? 10,
    cacheSizeKib: options.cacheSizeKib,
    writerCacheKib: options.writerCacheKib,
    mmapBytes: options.mmapBytes,
    checkpointPages: options.checkpointPages,
    maxBatchSize: options.maxBatchSize,
    maxBuffered: options.maxBuffered,
    maxRollupKeys: options.maxRollupKeys,
    writerOnly: options.writerOnly,
    coalesceWindowMs: options.coalesceWindowMs ?? 10_000,
  };
  const parts = new Set(options.parts ?? PARTS);
  const store = await loadStore();
  const dir = options.path === undefined ? mkdtempSync(join(tmpdir(), 'poolsink-store-bench-')) : undefined;
  const path = options.path ?? join(dir, 'bench.db');
  const results = { path, settings };
  try {
    print(`block log bench: ${path}`);
    if (parts.has('seed') && !(options.reuse === true && existsSync(path))) {
      results.seed = await seed(store, path, settings, print);
    }
    if (parts.has('queries')) results.queries = await queries(store, path, print);
    if (parts.has('writer')) results.writer = await writerThroughput(store, path, settings, print);
  } finally {
    if (dir !== undefined && options.keep !== true) rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

function envInt(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive whole number (got ${JSON.stringify(text)})`);
  return value;
}

function optionalEnvInt(name) {
  const text = process.env[name];
  return text === undefined || text === '' ? undefined : envInt(name, 1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const only = (process.env.STORE_BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const part of only)
    if (!PARTS.includes(part)) throw new Error(`STORE_BENCH_ONLY: unknown part ${part} (known: ${PARTS.join(', ')})`);
  runStoreBench({
    events: envInt('STORE_BENCH_EVENTS', 10_000_000),
    hosts: envInt('STORE_BENCH_HOSTS', 5000),
    rate: envInt('STORE_BENCH_RATE', 40_000),
    seconds: envInt('STORE_BENCH_SECONDS', 10),
    coalesceWindowMs: process.env.STORE_BENCH_COALESCE_MS === '0' ? 0 : envInt('STORE_BENCH_COALESCE_MS', 10_000),
    cacheSizeKib: process.env.STORE_BENCH_CACHE_KIB ? envInt('STORE_BENCH_CACHE_KIB', 65536) : undefined,
    writerCacheKib: optionalEnvInt('STORE_BENCH_WRITER_CACHE_KIB'),
    mmapBytes: optionalEnvInt('STORE_BENCH_MMAP_BYTES'),
    checkpointPages: optionalEnvInt('STORE_BENCH_CHECKPOINT_PAGES'),
    maxBatchSize: optionalEnvInt('STORE_BENCH_MAX_BATCH'),
    maxBuffered: optionalEnvInt('STORE_BENCH_MAX_BUFFERED'),
    maxRollupKeys: optionalEnvInt('STORE_BENCH_ROLLUP_KEYS'),
    writerOnly: process.env.STORE_BENCH_WRITER_ONLY === '1',
    ...(process.env.STORE_BENCH_PATH ? { path: process.env.STORE_BENCH_PATH } : {}),
    reuse: process.env.STORE_BENCH_REUSE === '1',
    keep: process.env.STORE_BENCH_KEEP === '1',
    ...(only.length > 0 ? { parts: only } : {}),
  }).catch((err) => {
    console.error(`store bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
