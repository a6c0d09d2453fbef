/**
 * The block-log writer thread's CPU per row for all-unique names (issue 14's worst case), without
 * DNS traffic: events are recorded on this (the "DNS") thread at a fixed rate through the real
 * writer thread (startWriterThread, incidents on, coalescing at its default), and the writer
 * thread's own CPU is read from /proc (schedstat of each thread of this process, the busiest one
 * besides the main thread being the writer). Uses dist/ (`npm run build`).
 *
 *   node scripts/bench/writer-rows.mjs
 * Environment (all optional):
 *   WRITER_BENCH_RATE      events per second offered (20000)
 *   WRITER_BENCH_SECONDS   seconds of load (5)
 *   WRITER_BENCH_ROUNDS    measured rounds, each on the same database (3)
 *   WRITER_BENCH_CLIENTS   distinct client addresses the unique names come from (1: dnsperf's one)
 *   WRITER_BENCH_SEED      rows in the database before the first round (0), written directly
 *   WRITER_BENCH_PATH      database file (default: a temp dir, removed afterwards)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { threadRunNs } from './proc-cpu.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
const RATE = Number(env.WRITER_BENCH_RATE ?? 20_000);
const SECONDS = Number(env.WRITER_BENCH_SECONDS ?? 5);
const ROUNDS = Number(env.WRITER_BENCH_ROUNDS ?? 3);
const CLIENTS = Number(env.WRITER_BENCH_CLIENTS ?? 1);
const SEED = Number(env.WRITER_BENCH_SEED ?? 0);

function eventOf(i, tag, timeMs) {
  return {
    timeMs,
    clientIp: CLIENTS === 1 ? '127.0.0.1' : `10.1.${(i % CLIENTS) >> 8}.${(i % CLIENTS) & 255}`,
    clientPort: 1024 + (i % 60000),
    protocol: 'udp',
    qname: `r${i}-${tag}.pool-${i % 100000}.bench-mining.test`,
    qtype: 1,
    list: 'bench',
    rule: `pool-${i % 100000}.bench-mining.test`,
    action: 'blocked',
    answer: 'nxdomain',
  };
}

async function main() {
  const store = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'writer-thread.js')).href);
  const database = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'database.js')).href);
  const batch = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'batch-writer.js')).href);
  const dir = env.WRITER_BENCH_PATH === undefined ? mkdtempSync(join(tmpdir(), 'poolsink-writer-bench-')) : undefined;
  const path = env.WRITER_BENCH_PATH ?? join(dir, 'poolsink.db');
  const log = pino({ level: 'silent' });
  const connection = database.openStoreConnection(path, { log, quickCheckMaxBytes: 0 });
  if (SEED > 0) {
    const writer = batch.createBatchWriter(connection.db);
    const chunk = 50_000;
    const events = [];
    const startMs = Date.now() - 3_600_000;
    for (let done = 0; done < SEED; done += chunk) {
      events.length = 0;
      for (let j = 0; j < Math.min(chunk, SEED - done); j += 1) events.push(eventOf(done + j, 'seed', startMs + j));
      const rollups = batch.createRollups();
      batch.addEvents(rollups, events, 0, events.length);
      writer.write(events, 0, events.length, rollups);
    }
    process.stdout.write(`seeded ${SEED} rows\n`);
  }
  const writer = await store.startWriterThread({
    path,
    log,
    retentionDays: 3650,
    maxEvents: 1_000_000_000,
    coalesceWindowMs: 10_000,
    incidents: { autoResolveHours: 24, severities: {} },
    ...(env.WRITER_BENCH_BATCH ? { batchSize: Number(env.WRITER_BENCH_BATCH) } : {}),
  });
  const results = [];
  let offset = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    const total = RATE * SECONDS;
    const writtenBefore = writer.stats.written;
    const droppedBefore = writer.stats.dropped;
    const before = threadRunNs();
    const t0 = performance.now();
    let sent = 0;
    await new Promise((done) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
        const now = Date.now();
        while (sent < due) {
          writer.record(eventOf(offset + sent, `b${round}`, now));
          sent += 1;
        }
        if (sent >= total) {
          clearInterval(timer);
          done();
        }
      }, 5);
    });
    writer.flush();
    const after = threadRunNs();
    offset += total;
    const main = (after.get(String(process.pid)) - before.get(String(process.pid))) / 1e3;
    let writerUs = 0;
    for (const [tid, ns] of after) {
      if (tid === String(process.pid)) continue;
      const us = (ns - (before.get(tid) ?? 0)) / 1e3;
      if (us > writerUs) writerUs = us;
    }
    const written = writer.stats.written - writtenBefore;
    const dropped = writer.stats.dropped - droppedBefore;
    results.push({ writerUsPerRow: writerUs / written, mainUsPerEvent: main / total, written, dropped });
    process.stdout.write(
      `round ${round}: ${total} events at ${RATE}/s: writer thread ${(writerUs / written).toFixed(2)} us/row, ` +
        `main ${(main / total).toFixed(2)} us/event, ${written} written, ${dropped} dropped\n`,
    );
  }
  writer.close();
  await writer.exited;
  const rows = connection.db.prepare('SELECT count(*) AS n FROM events').get().n;
  connection.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  const sorted = results.map((r) => r.writerUsPerRow).sort((a, b) => a - b);
  process.stdout.write(
    `writer thread us/row: median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} (min ${sorted[0].toFixed(2)}, max ${sorted.at(-1).toFixed(2)}); ${rows} rows in the database\n`,
  );
}

await main();
