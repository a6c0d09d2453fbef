/**
 * `BENCH_ONLY=history` (opt-in; also `node scripts/bench/history-recorder.mjs` after a build): the
 * DNS-thread cost of the query history (src/store/history-recorder.ts), in process.
 *  1. A repeated (client, name) within the hour, the common case: ns per note, and garbage
 *     collections during 10,000,000 notes (0 means nothing was allocated that needed collecting).
 *  2. New pairs: ns per note, batches shipped to a sink that only counts them.
 * Target: no GC during the repeats (nothing allocated per repeat); the ns are for comparison (on this
 * 2-core VM a bare pair of Map lookups measures 150-250 ns). Prints numbers; never fails.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REPEATS = 10_000_000;
const NEW_PAIRS = 200_000;
const HOUR = 3_600_000;

export async function runHistoryBench() {
  const { createHistoryRecorder } = await import(join(ROOT, 'dist', 'store', 'history-recorder.js'));
  const silent = { warn() {}, info() {}, debug() {}, error() {} };
  let shipped = 0;
  const recorder = createHistoryRecorder({
    maxPerHour: NEW_PAIRS * 2,
    ship: (batch) => {
      shipped += batch.clientIps.length;
    },
    log: silent,
  });
  const t0 = Math.floor(Date.now() / HOUR) * HOUR;
  const clients = Array.from({ length: 100 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const names = Array.from({ length: 100 }, (_, i) => `host${i}.service.example`);
  for (const c of clients) for (const n of names) recorder.note(c, n, t0);

  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  const startRepeat = performance.now();
  for (let i = 0; i < REPEATS; i += 1) recorder.note(clients[i % 100], names[(i >> 7) % 100], t0 + 1);
  const repeatNs = ((performance.now() - startRepeat) * 1e6) / REPEATS;
  await new Promise((r) => setImmediate(r)); // let the observer report
  const repeatGcs = gcs;
  observer.disconnect();

  const fresh = Array.from({ length: NEW_PAIRS }, (_, i) => `n${i}.fresh.example`);
  const startNew = performance.now();
  for (let i = 0; i < NEW_PAIRS; i += 1) recorder.note('10.9.9.9', fresh[i], t0 + 2);
  const newNs = ((performance.now() - startNew) * 1e6) / NEW_PAIRS;
  recorder.close();
  return { repeatNs, repeatGcs, repeats: REPEATS, newNs, newPairs: NEW_PAIRS, shipped };
}

export function formatHistoryReport(r) {
  const ok = r.repeatGcs === 0 ? 'ok' : 'FAIL';
  return [
    'query history recorder (DNS thread, in process)',
    `  repeat (client, name) in the hour: ${r.repeatNs.toFixed(1)} ns/note, ${r.repeatGcs} GCs over ${r.repeats} notes [${ok}: no GC]`,
    `  new pair: ${r.newNs.toFixed(0)} ns/note (${r.newPairs} pairs, ${r.shipped} shipped in batches)`,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${formatHistoryReport(await runHistoryBench())}\n`);
}
