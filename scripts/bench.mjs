/**
 * `npm run bench`: poolsink's CPU cost per query beside a trivial Node dgram responder, and the
 * cost of loading a 1,000,000-domain list. All traffic stays on 127.0.0.1.
 *
 * Each server is pinned to one core (BENCH_SERVER_CORE, default 0); dnsperf, the local upstream
 * and this script run on the other (BENCH_CLIENT_CORE, default 1). For every load, dnsperf sends
 * at a fixed rate for a fixed time and the server's CPU time is read from /proc before and after:
 *   µs per query = server CPU µs during the run / queries answered.
 *
 * Environment (all optional):
 *   BENCH_SECONDS          seconds per measured run (5)
 *   BENCH_QPS              dnsperf rate limit for blocked and cached, 0 = unlimited (20000)
 *   BENCH_MISS_QPS         rate limit for cache misses (half of BENCH_QPS): the client core
 *                          also carries the local upstream then
 *   BENCH_ROUNDS           measured runs per load and server, interleaved; medians reported (3)
 *   BENCH_WARMUP_SECONDS   unmeasured run per load and server first (2)
 *   BENCH_ONLY             comma list of trivial, blocked, cached, miss, load1m (all), and the
 *                          opt-in long runs soak (scripts/bench/soak.mjs, BENCH_SOAK_* settings)
 *                          and fuzz1m (1,000,000 packets of scripts/fuzz.mjs), and incidents
 *                          (scripts/bench/incidents.mjs: blocked CPU with and without incidents
 *                          and a webhook sink; 1,000 hosts opening incidents at once),
 *                          blocklog (scripts/bench/block-log.mjs: blocked queries from one client
 *                          retrying one name and all-unique names, block-log coalescing on and off,
 *                          each as a ratio to the trivial responder in the same run),
 *                          history (scripts/bench/history-recorder.mjs: the query history's
 *                          cost per repeated query on the DNS thread), and workers
 *                          (scripts/bench/workers.mjs: dns.workers RSS per worker with a 1M list,
 *                          qps with 1, 2 and auto workers)
 *   BENCH_KEEP             1 = keep the generated lists and query files
 *   BENCH_SERVER_CORE, BENCH_CLIENT_CORE
 *
 * Exits 0 with a report even when targets are missed (FAIL is printed); exits 1 when the bench
 * itself cannot run (dnsperf missing, poolsink not built or not answering).
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstJsonLine, startPinned, stopAll, stopChild, track, wasInterrupted } from './bench/children.mjs';
import {
  listDomain,
  writeBlockedQueries,
  writeCachedQueries,
  writeDomainList,
  writeUniqueQueries,
} from './bench/data.mjs';
import { dnsperfAvailable, runDnsperf } from './bench/dnsperf.mjs';
import { findFreePort, waitUntilAnswering } from './bench/probe.mjs';
import { benchPoolsinkYamlLines } from './bench/poolsink-config.mjs';
import {
  clockTicksPerSecond,
  cpuMicros,
  mainThreadMicros,
  readRssBytes,
  sampleCpu,
  untilIdle,
} from './bench/proc-cpu.mjs';
import { formatReport, summarizeLoad1m, summarizeLoads } from './bench/report.mjs';
import { formatSoakReport, runSoak } from './bench/soak.mjs';
import { formatIncidentsReport, runIncidentsBench } from './bench/incidents.mjs';
import { formatBlockLogReport, runBlockLogBench } from './bench/block-log.mjs';
import { formatHistoryReport, runHistoryBench } from './bench/history-recorder.mjs';
import { runWorkersBench } from './bench/workers.mjs';
import { formatFuzzBenchReport, runFuzzBench } from './fuzz/bench.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const QUERY_LOADS = ['blocked', 'cached', 'miss'];
const PARTS = ['trivial', ...QUERY_LOADS, 'load1m'];
/** Long runs, only when BENCH_ONLY names them. */
const OPT_IN_PARTS = ['soak', 'fuzz1m', 'incidents', 'blocklog', 'history', 'workers'];
const LIST_SIZE = 100_000;
const BIG_LIST_SIZE = 1_000_000;
const BLOCKED_QUERIES = 20_000;
const CACHED_NAMES = 1_000;
/** The RCODE each server must answer with for a run to count. */
const EXPECTED_RCODE = {
  trivial: { blocked: 'NXDOMAIN', cached: 'NXDOMAIN', miss: 'NXDOMAIN' },
  poolsink: { blocked: 'NXDOMAIN', cached: 'NOERROR', miss: 'NOERROR' },
};

class BenchSetupError extends Error {}

function intSetting(env, name, fallback, min, max) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BenchSetupError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`);
  }
  return value;
}

function readSettings(env) {
  const only = (env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const part of only) {
    if (!PARTS.includes(part) && !OPT_IN_PARTS.includes(part)) {
      throw new BenchSetupError(
        `BENCH_ONLY: unknown part ${JSON.stringify(part)} (known: ${[...PARTS, ...OPT_IN_PARTS].join(', ')})`,
      );
    }
  }
  const parts = new Set(only.length > 0 ? only : PARTS);
  const poolsinkLoads = QUERY_LOADS.filter((load) => parts.has(load));
  const cores = availableParallelism();
  const settings = {
    seconds: intSetting(env, 'BENCH_SECONDS', 5, 1, 600),
    qps: intSetting(env, 'BENCH_QPS', 20_000, 0, 10_000_000),
    rounds: intSetting(env, 'BENCH_ROUNDS', 3, 1, 100),
    warmupSeconds: intSetting(env, 'BENCH_WARMUP_SECONDS', 2, 0, 600),
    serverCore: intSetting(env, 'BENCH_SERVER_CORE', 0, 0, 4095),
    clientCore: intSetting(env, 'BENCH_CLIENT_CORE', 1, 0, 4095),
    keepFiles: env.BENCH_KEEP === '1',
    poolsinkLoads,
    trivialLoads: parts.has('trivial') ? QUERY_LOADS : poolsinkLoads,
    load1m: parts.has('load1m'),
    soak: parts.has('soak'),
    fuzz1m: parts.has('fuzz1m'),
    incidents: parts.has('incidents'),
    blocklog: parts.has('blocklog'),
    history: parts.has('history'),
    workers: parts.has('workers'),
    cores,
  };
  settings.missQps = intSetting(env, 'BENCH_MISS_QPS', Math.floor(settings.qps / 2), 0, 10_000_000);
  if (settings.serverCore === settings.clientCore) {
    throw new BenchSetupError('BENCH_SERVER_CORE and BENCH_CLIENT_CORE must differ');
  }
  if (Math.max(settings.serverCore, settings.clientCore) >= cores) {
    throw new BenchSetupError(
      `this machine has ${cores} core(s); BENCH_SERVER_CORE/BENCH_CLIENT_CORE must be below that`,
    );
  }
  return settings;
}

function preflight(settings) {
  if (!dnsperfAvailable()) {
    throw new BenchSetupError('dnsperf is not installed; install it with: apt-get install -y dnsperf');
  }
  if (spawnSync('taskset', ['-V']).error !== undefined) {
    throw new BenchSetupError('taskset is not installed (Debian package util-linux); it pins each server to one core');
  }
  if (
    (settings.poolsinkLoads.length > 0 ||
      settings.soak ||
      settings.fuzz1m ||
      settings.incidents ||
      settings.blocklog ||
      settings.workers) &&
    !existsSync(join(DIST, 'cli.js'))
  ) {
    throw new BenchSetupError('dist/cli.js not found: run `npm run build` first (npm run bench does)');
  }
  if (settings.load1m && !existsSync(join(DIST, 'blocklist', 'list-source.js'))) {
    throw new BenchSetupError(
      'dist/blocklist/list-source.js not found: run `npm run build` first (npm run bench does)',
    );
  }
}

/** Moves this script (and every thread of it) onto the client core, away from the servers. */
function pinSelf(core) {
  spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}

/** CPU busy ticks of one core from /proc/stat, to see what else ran on the server core. */
function coreBusyTicks(core) {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${core} `));
  if (line === undefined) return undefined;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: total - idle, steal: ticks[7] ?? 0 };
}

/** The dnsperf rate limit for one load (0 = unlimited). */
function qpsFor(load, settings) {
  return load === 'miss' ? settings.missQps : settings.qps;
}

function uniqueQueryCount(settings, seconds) {
  const rate = settings.missQps > 0 ? settings.missQps : 150_000;
  return Math.ceil(rate * seconds * 1.1) + 1000;
}

function generateQueryData(dir, settings, runTag) {
  const files = {
    list: join(dir, 'list-100k.txt'),
    blocked: join(dir, 'queries-blocked.txt'),
    cached: join(dir, 'queries-cached.txt'),
    missWarmup: join(dir, 'queries-miss-warmup.txt'),
    miss: [],
  };
  writeDomainList(files.list, LIST_SIZE);
  writeBlockedQueries(files.blocked, { listSize: LIST_SIZE, count: BLOCKED_QUERIES });
  writeCachedQueries(files.cached, { count: CACHED_NAMES });
  writeUniqueQueries(files.missWarmup, {
    count: uniqueQueryCount(settings, Math.max(1, settings.warmupSeconds)),
    tag: `${runTag}w`,
  });
  // One file per round: dnsperf starts every run from the first line, and a repeated name is a hit.
  for (let round = 0; round < settings.rounds; round += 1) {
    const file = join(dir, `queries-miss-${round}.txt`);
    writeUniqueQueries(file, { count: uniqueQueryCount(settings, settings.seconds), tag: `${runTag}r${round}` });
    files.miss.push(file);
  }
  return files;
}

function poolsinkConfigYaml({ port, upstreamPort, listFile, extraYaml = [] }) {
  return [...benchPoolsinkYamlLines({ port, upstreamPort, listFile }), ...extraYaml, ''].join('\n');
}

/** poolsink must see only the config file: POOLSINK_* variables would override it. */
function envWithoutPoolsinkOverrides() {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('POOLSINK_')));
}

function fileTail(path, bytes = 4000) {
  try {
    return readFileSync(path, 'utf8').slice(-bytes);
  } catch {
    return ''; // no log written yet
  }
}

async function startHelper(script, name, args, core) {
  const child = startPinned([process.execPath, join(ROOT, 'scripts', script), ...args], { core });
  const { port } = await firstJsonLine(child, name);
  return { name, child, pid: child.pid, port };
}

async function startPoolsink(dir, settings, { upstreamPort, listFile, extraYaml }) {
  const port = await findFreePort();
  const configFile = join(dir, 'poolsink.yaml');
  writeFileSync(configFile, poolsinkConfigYaml({ port, upstreamPort, listFile, extraYaml }));
  const logFile = join(dir, 'poolsink.log');
  const logFd = openSync(logFile, 'w');
  const startedAt = performance.now();
  const child = startPinned([process.execPath, join(DIST, 'cli.js'), 'serve', '--config', configFile], {
    core: settings.serverCore,
    cwd: dir,
    env: envWithoutPoolsinkOverrides(),
    logFd,
  });
  closeSync(logFd);
  await waitUntilAnswering(port, { child, name: 'poolsink', outputTail: () => fileTail(logFile) });
  return { name: 'poolsink', child, pid: child.pid, port, configFile, logFile, readyMs: performance.now() - startedAt };
}

/** One measured dnsperf run against one server. */
async function measure(server, load, file, settings, { upstream, round }) {
  const before = sampleCpu(server.pid);
  const upstreamBefore = upstream ? sampleCpu(upstream.pid) : undefined;
  const coreBefore = coreBusyTicks(settings.serverCore);
  const clientCoreBefore = coreBusyTicks(settings.clientCore);
  const perf = await runDnsperf({
    port: server.port,
    file,
    seconds: settings.seconds,
    qps: qpsFor(load, settings),
    core: settings.clientCore,
    track,
  });
  const wallAfter = performance.now();
  // Work the run left behind (poolsink's writer thread catching up on block events) is part of
  // its cost: wait until the process is idle before reading its CPU time.
  const after = await untilIdle(server.pid, 60_000);
  const upstreamAfter = upstream ? sampleCpu(upstream.pid) : undefined;
  const coreAfter = coreBusyTicks(settings.serverCore);
  const clientCoreAfter = coreBusyTicks(settings.clientCore);
  const cpu = cpuMicros(before, after);
  const wallMicros = (wallAfter - before.atMs) * 1e3;
  const settleMs = after.atMs - wallAfter;
  const problems = [];
  if (perf.completed === 0) problems.push('no query was answered');
  if (perf.lost > perf.sent * 0.05) problems.push(`${perf.lost} of ${perf.sent} queries lost`);
  const expected = EXPECTED_RCODE[server.name][load];
  const expectedCount = perf.rcodes[expected] ?? 0;
  if (perf.completed > 0 && expectedCount < perf.completed * 0.99) {
    problems.push(`expected ${expected}, got ${JSON.stringify(perf.rcodes)}`);
  }
  const utilization = cpu.micros / wallMicros;
  const warnings = [];
  if (utilization > 0.9)
    warnings.push(`server core ${(utilization * 100).toFixed(0)}% busy: at or near overload, try a lower BENCH_QPS`);
  if (perf.lost > 0 && perf.lost <= perf.sent * 0.05) warnings.push(`${perf.lost} of ${perf.sent} queries lost`);
  const targetQps = qpsFor(load, settings);
  if (targetQps > 0 && perf.qps < targetQps * 0.97)
    warnings.push(`achieved ${perf.qps.toFixed(0)} of ${targetQps} qps`);
  const hz = clockTicksPerSecond();
  const wallTicks = (wallMicros / 1e6) * hz;
  const otherTicks = coreAfter && coreBefore ? coreAfter.busy - coreBefore.busy - (cpu.micros * hz) / 1e6 : undefined;
  const clientCoreBusyShare =
    clientCoreAfter && clientCoreBefore ? (clientCoreAfter.busy - clientCoreBefore.busy) / wallTicks : undefined;
  if (clientCoreBusyShare > 0.95) {
    warnings.push(
      `client core ${(clientCoreBusyShare * 100).toFixed(0)}% busy: dnsperf or the upstream may be the bottleneck`,
    );
  }
  return {
    server: server.name,
    load,
    round,
    qps: perf.qps,
    sent: perf.sent,
    completed: perf.completed,
    lost: perf.lost,
    rcodes: perf.rcodes,
    avgLatencyMs: perf.avgLatencyMs,
    cpuMicros: cpu.micros,
    cpuMicrosFromTicks: cpu.fromTicks,
    cpuMicrosFromSchedstat: cpu.fromSchedstat,
    serverCoreUtilization: utilization,
    settleMs,
    microsPerQuery: perf.completed > 0 ? cpu.micros / perf.completed : undefined,
    // The main (DNS) thread alone; poolsink's block-log writer thread is the rest.
    mainMicrosPerQuery:
      perf.completed > 0 ? (mainThreadMicros(before, after) ?? Number.NaN) / perf.completed : undefined,
    upstreamMicrosPerQuery:
      upstreamBefore && upstreamAfter && perf.completed > 0
        ? cpuMicros(upstreamBefore, upstreamAfter).micros / perf.completed
        : undefined,
    // Busy time on the server core not charged to the server (other tenants, interrupts): noise.
    serverCoreOtherBusyShare: otherTicks === undefined ? undefined : Math.max(0, otherTicks) / wallTicks,
    clientCoreBusyShare,
    dnsperf: perf.command,
    problems,
    warnings,
  };
}

async function warmUp(server, load, file, settings, seconds) {
  if (seconds <= 0) return;
  await runDnsperf({ port: server.port, file, seconds, qps: qpsFor(load, settings), core: settings.clientCore, track });
}

function describeRun(run) {
  const parts = [
    `${run.server.padEnd(8)} ${run.load.padEnd(7)}`,
    `${(run.qps ?? 0).toFixed(0).padStart(7)} qps`,
    `${run.microsPerQuery === undefined ? '-' : run.microsPerQuery.toFixed(2).padStart(6)} us/q`,
    `main thread ${run.mainMicrosPerQuery === undefined || !Number.isFinite(run.mainMicrosPerQuery) ? '-' : run.mainMicrosPerQuery.toFixed(2)} us/q`,
    `core ${(run.serverCoreUtilization * 100).toFixed(0)}% busy`,
    ...(run.settleMs > 300 ? [`busy ${(run.settleMs / 1000).toFixed(1)} s after the load (counted)`] : []),
    `lat ${run.avgLatencyMs?.toFixed(3)} ms`,
  ];
  if (run.upstreamMicrosPerQuery !== undefined && run.load === 'miss')
    parts.push(`upstream ${run.upstreamMicrosPerQuery.toFixed(2)} us/q`);
  if (run.serverCoreOtherBusyShare > 0.05)
    parts.push(`NOISE: ${(run.serverCoreOtherBusyShare * 100).toFixed(0)}% of the server core used by others`);
  if (run.warnings.length > 0) parts.push(`WARN: ${run.warnings.join('; ')}`);
  if (run.problems.length > 0) parts.push(`PROBLEM: ${run.problems.join('; ')}`);
  return `  ${parts.join('  ')}`;
}

async function measureQueryLoads(dir, settings, runTag) {
  const loads = [...new Set([...settings.trivialLoads, ...settings.poolsinkLoads])];
  if (loads.length === 0) return { runs: [], loads };
  process.stdout.write(`generating query files in ${dir}\n`);
  const files = generateQueryData(dir, settings, runTag);
  const servers = [];
  let upstream;
  let poolsink;
  if (settings.trivialLoads.length > 0) {
    const trivial = await startHelper('trivial-responder.mjs', 'trivial', [], settings.serverCore);
    servers.push(trivial);
    process.stdout.write(
      `trivial responder pid ${trivial.pid} on 127.0.0.1:${trivial.port} (core ${settings.serverCore})\n`,
    );
  }
  if (settings.poolsinkLoads.length > 0) {
    upstream = await startHelper('bench/upstream.mjs', 'upstream', [], settings.clientCore);
    process.stdout.write(
      `local upstream pid ${upstream.pid} on 127.0.0.1:${upstream.port} (core ${settings.clientCore})\n`,
    );
    poolsink = await startPoolsink(dir, settings, { upstreamPort: upstream.port, listFile: files.list });
    servers.push(poolsink);
    process.stdout.write(
      `poolsink pid ${poolsink.pid} on 127.0.0.1:${poolsink.port} (core ${settings.serverCore}), ` +
        `answering ${(poolsink.readyMs / 1e3).toFixed(2)} s after start with the ${LIST_SIZE.toLocaleString('en-US')}-domain list\n`,
    );
  }
  const serversFor = (load) =>
    servers.filter((s) => (s.name === 'trivial' ? settings.trivialLoads : settings.poolsinkLoads).includes(load));
  const fileFor = (load, round) => (load === 'miss' ? files.miss[round] : files[load]);

  process.stdout.write(`warming up (${settings.warmupSeconds} s per load and server)\n`);
  for (const load of loads) {
    for (const server of serversFor(load)) {
      if (load === 'cached') {
        // One pass over the fixed names puts every one of them in poolsink's cache.
        await runDnsperf({
          port: server.port,
          file: files.cached,
          maxRuns: 1,
          qps: settings.qps,
          core: settings.clientCore,
          track,
        });
      }
      await warmUp(server, load, load === 'miss' ? files.missWarmup : files[load], settings, settings.warmupSeconds);
    }
  }

  const runs = [];
  for (let round = 0; round < settings.rounds; round += 1) {
    if (settings.rounds > 1) process.stdout.write(`round ${round + 1} of ${settings.rounds}\n`);
    for (const load of loads) {
      for (const server of serversFor(load)) {
        const run = await measure(server, load, fileFor(load, round), settings, {
          upstream: server === poolsink ? upstream : undefined,
          round,
        });
        runs.push(run);
        process.stdout.write(`${describeRun(run)}\n`);
      }
    }
  }
  const poolsinkRssBytes = poolsink ? readRssBytes(poolsink.pid) : undefined;
  for (const server of servers) await stopChild(server.child);
  if (upstream) await stopChild(upstream.child);
  if (poolsink && fileTail(poolsink.logFile, 1).length > 0) {
    process.stdout.write(
      `poolsink wrote to its log (level warn): ${poolsink.logFile}\n${fileTail(poolsink.logFile, 1500)}\n`,
    );
  }
  return { runs, loads, poolsinkRssBytes, poolsinkReadyMs: poolsink?.readyMs };
}

async function measureLoad1m(dir, settings) {
  const listFile = join(dir, 'list-1m.txt');
  process.stdout.write(`writing the ${BIG_LIST_SIZE.toLocaleString('en-US')}-domain list\n`);
  writeDomainList(listFile, BIG_LIST_SIZE);
  const child = startPinned(
    [
      process.execPath,
      '--expose-gc',
      join(ROOT, 'scripts', 'bench', 'load-list.mjs'),
      DIST,
      listFile,
      listDomain(BIG_LIST_SIZE - 1),
    ],
    { core: settings.serverCore },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  const [code, signal] = await new Promise((done) => child.on('exit', (c, s) => done([c, s])));
  if (!settings.keepFiles) rmSync(listFile, { force: true });
  if (code !== 0) {
    throw new Error(`the 1M list measurement failed (${signal ?? `exit ${code}`}):\n${child.stderrTail.trim()}`);
  }
  return JSON.parse(stdout.trim().split('\n').pop());
}

function removeDataFiles(dir) {
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.txt')) rmSync(join(dir, name), { force: true });
  }
}

async function main() {
  const settings = readSettings(process.env);
  preflight(settings);
  pinSelf(settings.clientCore);
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-bench-'));
  // Lists and query files are large; results.json, poolsink.yaml and poolsink.log stay.
  if (!settings.keepFiles) process.on('exit', () => removeDataFiles(dir));
  const runTag = Math.random().toString(36).slice(2, 8);
  const startedAt = new Date();
  const loadavgBefore = readFileSync('/proc/loadavg', 'utf8').trim();

  const queryResults = await measureQueryLoads(dir, settings, runTag);
  const load1mRaw = settings.load1m ? await measureLoad1m(dir, settings) : undefined;
  const log = (line) => process.stdout.write(`${line}\n`);
  const soak = settings.soak ? await runSoak({ bench: settings, dir, runTag, log }) : undefined;
  const fuzz1m = settings.fuzz1m
    ? await runFuzzBench({ cores: `${settings.serverCore},${settings.clientCore}`, log })
    : undefined;
  const incidents = settings.incidents
    ? await runIncidentsBench({
        deps: {
          settings,
          startUpstream: () => startHelper('bench/upstream.mjs', 'upstream', [], settings.clientCore),
          startPoolsink,
          measure,
          warmUp,
          describeRun,
        },
        dir,
        log,
      })
    : undefined;

  const blocklog = settings.blocklog
    ? await runBlockLogBench({
        deps: {
          settings,
          startUpstream: () => startHelper('bench/upstream.mjs', 'upstream', [], settings.clientCore),
          startTrivial: () => startHelper('trivial-responder.mjs', 'trivial', [], settings.serverCore),
          startPoolsink,
          measure,
          warmUp,
          describeRun,
        },
        dir,
        runTag,
        log,
      })
    : undefined;

  // Prints its own tables as it goes (memory per worker, qps per worker count).
  if (settings.workers) await runWorkersBench({ seconds: settings.seconds, log });
  const loads = summarizeLoads(queryResults.runs, queryResults.loads);
  const load1m = summarizeLoad1m(load1mRaw);
  process.stdout.write(`\n${formatReport({ loads, load1m, settings })}\n`);
  if (soak !== undefined) process.stdout.write(`\n${formatSoakReport(soak)}\n`);
  if (fuzz1m !== undefined) process.stdout.write(`\n${formatFuzzBenchReport(fuzz1m)}\n`);
  if (incidents !== undefined) process.stdout.write(`\n${formatIncidentsReport(incidents)}\n`);
  if (blocklog !== undefined) process.stdout.write(`\n${formatBlockLogReport(blocklog)}\n`);
  // BENCH_ONLY=history: the query history recorder's DNS-thread cost (scripts/bench/history-recorder.mjs).
  if (settings.history) process.stdout.write(`\n${formatHistoryReport(await runHistoryBench())}\n`);
  if (queryResults.poolsinkRssBytes !== undefined) {
    process.stdout.write(`poolsink RSS after the runs: ${(queryResults.poolsinkRssBytes / 1e6).toFixed(0)} MB\n`);
  }

  const resultsFile = join(dir, 'results.json');
  const { cores, ...recordedSettings } = settings;
  writeFileSync(
    resultsFile,
    `${JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        node: process.version,
        cores,
        loadavgBefore,
        loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
        settings: recordedSettings,
        summary: { loads, load1m },
        soak,
        fuzz1m,
        incidents,
        blocklog,
        runs: queryResults.runs,
        poolsink: { readyMs: queryResults.poolsinkReadyMs, rssBytes: queryResults.poolsinkRssBytes },
        load1m: load1mRaw,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`results: ${resultsFile}\n`);
}

main().then(
  async () => {
    await stopAll();
  },
  async (err) => {
    if (wasInterrupted()) return; // the signal handler is already stopping everything
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    if (!(err instanceof BenchSetupError) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    await stopAll();
    process.exit(1);
  },
);
