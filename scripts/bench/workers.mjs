/**
 * dns.workers: memory per worker with a 1,000,000-name list, and blocked-query throughput with
 * 1, 2 and `auto` workers. Runs the built CLI (`node dist/cli.js serve`); all traffic on 127.0.0.1.
 *
 *   node scripts/bench/workers.mjs          (or BENCH_ONLY=workers npm run bench)
 *
 * Memory: RSS of the primary and of each worker (VmRSS) once every worker serves, with the 1M
 * list and with a one-name list; the difference is what the 1M list costs each process.
 * Throughput: dnsperf, unlimited rate, BENCH_SECONDS (5) per worker count, a 100k-name list,
 * blocked queries (no upstream work). dnsperf needs a core of its own: on a machine with 2 cores
 * the workers share the other one, so the table shows correctness and overhead, not scaling.
 *
 * Environment: BENCH_SECONDS, BENCH_KEEP=1 (keep the temp directory), BENCH_WORKERS_QPS=0 (memory only).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listDomain, writeBlockedQueries, writeDomainList } from './data.mjs';
import { dnsperfAvailable, runDnsperf } from './dnsperf.mjs';
import { findFreePort, waitUntilAnswering } from './probe.mjs';
import { readRssBytes } from './proc-cpu.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const BIG = 1_000_000;
const QPS_LIST = 100_000;
/** The per-worker target of issue 14 for a 1M list. */
export const WORKER_LIST_TARGET_MB = 150;

const mb = (bytes) => (bytes === undefined ? 'n/a' : (bytes / 2 ** 20).toFixed(1));
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function childPids(pid) {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return out.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
}

/** The worker processes (cluster children running worker-entry.js) of `pid`. */
function workerPids(pid) {
  return childPids(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('worker-entry');
    } catch {
      return false; // gone
    }
  });
}

async function startServer(dir, { workers, listFile, probe }) {
  const port = await findFreePort();
  const config = join(dir, `poolsink-${workers}.yaml`);
  writeFileSync(
    config,
    [
      'dns:',
      `  listen: ["127.0.0.1:${port}"]`,
      `  workers: ${workers}`,
      '  rateLimit: { qps: 0 }',
      'upstreams: ["127.0.0.1:9"]',
      'blocklists:',
      `  - { name: bench, source: ${JSON.stringify(listFile)}, format: domains }`,
      `dataDir: ${JSON.stringify(join(dir, `data-${workers}`))}`,
      'admin: { listen: "127.0.0.1:0" }',
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  const logFile = join(dir, `poolsink-${workers}.log`);
  const logFd = openSync(logFile, 'w');
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('POOLSINK_')));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config], { env, stdio: ['pipe', logFd, logFd] });
  closeSync(logFd);
  child.stderrTail = '';
  const outputTail = () => readFileSync(logFile, 'utf8').slice(-4000);
  await waitUntilAnswering(port, {
    child,
    name: `poolsink (workers ${workers})`,
    qname: probe,
    timeoutMs: 120_000,
    outputTail,
  });
  const expected = workers === 'auto' ? availableParallelism() : workers;
  const deadline = performance.now() + 120_000;
  while (expected > 1 && workerPids(child.pid).length < expected && performance.now() < deadline) await sleep(100);
  return { child, port };
}

async function stopServer(server) {
  const exited = new Promise((done) => server.child.once('exit', done));
  server.child.kill('SIGTERM');
  await exited;
}

/** RSS of the primary and each worker, after the processes have settled. */
async function measureRss(dir, workers, listFile, probe) {
  const server = await startServer(dir, { workers, listFile, probe });
  await sleep(2_000);
  const primary = readRssBytes(server.child.pid);
  const perWorker = workerPids(server.child.pid).map((pid) => readRssBytes(pid));
  await stopServer(server);
  return { primary, perWorker };
}

export async function runWorkersBench({ seconds = 5, log = console.log } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-bench-workers-'));
  try {
    const bigList = join(dir, 'big.txt');
    const tinyList = join(dir, 'tiny.txt');
    writeDomainList(bigList, BIG);
    writeDomainList(tinyList, 1);
    const probe = listDomain(0);
    log(`dns.workers: memory with a ${BIG.toLocaleString('en')}-name list (RSS, MB)`);
    const memory = [];
    for (const workers of [1, 2]) {
      const big = await measureRss(dir, workers, bigList, probe);
      const tiny = await measureRss(dir, workers, tinyList, probe);
      memory.push({ workers, big, tiny });
    }
    log('| workers | primary (1M) | primary (1 name) | each worker (1M) | each worker (1 name) | 1M list per worker |');
    log('|---|---|---|---|---|---|');
    let verdict = 'n/a';
    for (const { workers, big, tiny } of memory) {
      const workerBig = big.perWorker.map(mb).join(' / ') || '–';
      const workerTiny = tiny.perWorker.map(mb).join(' / ') || '–';
      const added = big.perWorker.map((bytes, i) => (bytes ?? 0) - (tiny.perWorker[i] ?? 0));
      const addedText = added.map(mb).join(' / ') || '–';
      if (workers > 1) {
        const worst = Math.max(...big.perWorker.map((bytes) => bytes ?? Infinity)) / 2 ** 20;
        verdict = worst < WORKER_LIST_TARGET_MB ? 'PASS' : 'FAIL';
        log(`| ${workers} | ${mb(big.primary)} | ${mb(tiny.primary)} | ${workerBig} | ${workerTiny} | ${addedText} |`);
        log(`worker RSS with the 1M list ≤ ${WORKER_LIST_TARGET_MB} MB: ${verdict} (${worst.toFixed(1)} MB)`);
      } else {
        log(
          `| ${workers} (one process) | ${mb(big.primary)} | ${mb(tiny.primary)} | – | – | ${mb((big.primary ?? 0) - (tiny.primary ?? 0))} (whole process) |`,
        );
      }
    }

    const cores = availableParallelism();
    if (process.env['BENCH_WORKERS_QPS'] === '0') return { memory, verdict, qps: [] };
    if (!dnsperfAvailable()) {
      log('qps: dnsperf is not installed (apt-get install dnsperf): throughput not measured');
      return { memory, verdict, qps: [] };
    }
    const qpsList = join(dir, 'qps.txt');
    const queries = join(dir, 'blocked.txt');
    writeDomainList(qpsList, QPS_LIST);
    writeBlockedQueries(queries, { listSize: QPS_LIST, count: 20_000 });
    log(`\ndns.workers: blocked queries per second (dnsperf unlimited, ${seconds} s, ${cores} cores)`);
    log('| workers | qps | lost |');
    log('|---|---|---|');
    const qps = [];
    for (const workers of [1, 2, 'auto']) {
      const server = await startServer(dir, { workers, listFile: qpsList, probe });
      try {
        const run = await runDnsperf({ port: server.port, file: queries, seconds, qps: 0 });
        qps.push({ workers, qps: run.qps, lost: run.lost });
        log(
          `| ${workers === 'auto' ? `auto (${cores})` : workers} | ${Math.round(run.qps ?? 0)} | ${run.lost ?? 'n/a'} |`,
        );
      } finally {
        await stopServer(server);
      }
    }
    if (cores <= 2) {
      log(
        `This machine has ${cores} cores: dnsperf needs one, so every worker count shares the other and ` +
          'the table cannot show scaling (it shows what the cluster costs on one core). Run it where ' +
          'there are spare cores (4+) to see qps grow with workers.',
      );
    }
    return { memory, verdict, qps };
  } finally {
    if (process.env['BENCH_KEEP'] !== '1') rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
  await runWorkersBench({ seconds });
}
