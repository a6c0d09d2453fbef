/**
 * Where a large block log's write cost goes: batches of the store bench's events (5,000 hosts)
 * written with the writer's own batch code into a copy of a seeded log, the events INSERT (with its
 * indexes and commit) and the rollup upserts timed apart, in CPU µs per event, with the pages read
 * and written per event (/proc/self/io rchar and wchar over 4 KiB: page-cache misses, WAL frames
 * and checkpoints). Uses dist/ (`npm run build`) and a log seeded by store-seed.mjs.
 *
 *   node scripts/bench/writer-pages.mjs /tmp/copy-of-seed.db
 * Environment (all optional):
 *   PAGES_BENCH_BATCH      events per transaction, rollups summed over the same events (40000)
 *   PAGES_BENCH_ROUNDS     rounds; the first is reported apart (cold) (8)
 *   PAGES_BENCH_CACHE_KIB, PAGES_BENCH_MMAP_BYTES, PAGES_BENCH_CHECKPOINT_PAGES   the connection's
 *                          cache_size, mmap_size, wal_autocheckpoint (store defaults when unset)
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { makeEventFactory } from './store-seed.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
const BATCH = Number(env.PAGES_BENCH_BATCH ?? 40_000);
const ROUNDS = Number(env.PAGES_BENCH_ROUNDS ?? 8);
const PAGE = 4096;

function io() {
  const text = readFileSync('/proc/self/io', 'utf8');
  const field = (name) => Number(new RegExp(`${name}: (\\d+)`).exec(text)?.[1] ?? NaN);
  return { read: field('rchar'), written: field('wchar') };
}

function cpuUs() {
  const used = process.cpuUsage();
  return used.user + used.system;
}

function optional(name) {
  return env[name] === undefined || env[name] === '' ? undefined : Number(env[name]);
}

function median(values) {
  return [...values].sort((a, b) => a - b)[values.length >> 1];
}

async function main() {
  const path = process.argv[2];
  if (path === undefined) throw new Error('usage: node scripts/bench/writer-pages.mjs <copy of a seeded log>');
  const database = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'database.js')).href);
  const batchCode = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'batch-writer.js')).href);
  const cache = optional('PAGES_BENCH_CACHE_KIB');
  const mmap = optional('PAGES_BENCH_MMAP_BYTES');
  const checkpoint = optional('PAGES_BENCH_CHECKPOINT_PAGES');
  const db = database.openDatabase(path, {
    log: pino({ level: 'silent' }),
    quickCheckMaxBytes: 0,
    ...(cache !== undefined ? { cacheSizeKib: cache } : {}),
    ...(mmap !== undefined ? { mmapSizeBytes: mmap } : {}),
    ...(checkpoint !== undefined ? { walAutocheckpointPages: checkpoint } : {}),
  });
  const rows = db.prepare('SELECT count(*) AS n FROM events').get().n;
  const writer = batchCode.createBatchWriter(db);
  const makeEvent = makeEventFactory({
    events: 1e6,
    hosts: 5000,
    startMs: Date.now(),
    endMs: Date.now() + 1000,
    seed: 7,
  });
  const phases = { insert: [], rollups: [] };
  let next = 0;
  console.log(
    `writer pages: ${(rows / 1e6).toFixed(1)}M rows, batches of ${BATCH}, cache ${cache ?? 'default'} KiB, mmap ${mmap ?? 0}, checkpoint ${checkpoint ?? 'default'}`,
  );
  for (let round = 0; round < ROUNDS; round += 1) {
    const events = Array.from({ length: BATCH }, () => {
      const event = makeEvent(next++ % 1e6);
      event.timeMs = Date.now();
      return event;
    });
    const rollups = batchCode.createRollups();
    batchCode.addEvents(rollups, events, 0, events.length);
    const keys = rollups.keys;
    const io0 = io();
    const cpu0 = cpuUs();
    writer.write(events, 0, events.length, undefined);
    const io1 = io();
    const cpu1 = cpuUs();
    writer.write(events, 0, 0, rollups);
    const io2 = io();
    const cpu2 = cpuUs();
    const line = (name, cpu, from, to) =>
      `${name} ${(cpu / BATCH).toFixed(1)} us/event, read ${((to.read - from.read) / BATCH / PAGE).toFixed(2)} ` +
      `wrote ${((to.written - from.written) / BATCH / PAGE).toFixed(2)} pages/event`;
    console.log(
      `  round ${round}${round === 0 ? ' (cold)' : ''}: ${line('insert', cpu1 - cpu0, io0, io1)} | ` +
        `${line(`rollups (${keys} keys)`, cpu2 - cpu1, io1, io2)}`,
    );
    if (round > 0) {
      phases.insert.push((cpu1 - cpu0) / BATCH);
      phases.rollups.push((cpu2 - cpu1) / BATCH);
    }
  }
  db.close();
  const spread = (values) =>
    `median ${median(values).toFixed(1)} (${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)})`;
  console.log(`insert ${spread(phases.insert)}, rollups ${spread(phases.rollups)} us/event (warm rounds)`);
}

main().catch((err) => {
  console.error(`writer pages bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
