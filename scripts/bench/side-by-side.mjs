/**
 * `npm run bench:side-by-side`: poolsink beside dnsmasq, unbound and dnsdist (each when installed;
 * skipped with a note otherwise) and the floor, a trivial Node dgram responder, measured the same
 * way in the same run. All traffic stays on 127.0.0.1: every server forwards to one local upstream
 * stand-in (scripts/bench/upstream.mjs), never the internet.
 *
 * Each server is pinned to one core (BENCH_SERVER_CORE, default 0); dnsperf, the upstream and this
 * script to the other (BENCH_CLIENT_CORE, default 1). Loads: blocked names from a 100,000-name
 * list, cached names (1,000, after one warm-up pass), and unique names (misses). The cost is the
 * server's CPU time from /proc/PID (all its threads) over the run, per answered query; the ratio is
 * to the floor in the same run. Prints a markdown table.
 *
 * Environment (optional): BENCH_SECONDS (5), BENCH_QPS (20000), BENCH_MISS_QPS (half of BENCH_QPS),
 * BENCH_ROUNDS (2; medians reported), BENCH_WARMUP_SECONDS (1), BENCH_SERVERS (comma list of
 * floor, poolsink, dnsmasq, unbound, dnsdist), BENCH_SERVER_CORE, BENCH_CLIENT_CORE, and
 * BENCH_COMPARE (`label=/path/to/dist,…`: more poolsink builds in the same run, shown as
 * `poolsink@label`, e.g. a copy of main's dist/ to measure a change before/after on equal terms).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstJsonLine, startPinned, stopAll, stopChild, track } from './children.mjs';
import { writeBlockedQueries, writeCachedQueries, writeDomainList, writeUniqueQueries } from './data.mjs';
import { dnsperfAvailable, runDnsperf } from './dnsperf.mjs';
import { findFreePort, waitUntilAnswering } from './probe.mjs';
import { cpuMicros, mainThreadMicros, sampleCpu, untilIdle } from './proc-cpu.mjs';
import { FOREIGN_SERVERS, installed, serverArgv } from './side-by-side-servers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist');
const LOADS = ['blocked', 'cached', 'miss'];
const LIST_SIZE = 100_000;
const ALL_SERVERS = ['floor', 'poolsink', ...FOREIGN_SERVERS.map((s) => s.name)];
const EXPECTED_RCODE = { blocked: 'NXDOMAIN', cached: 'NOERROR', miss: 'NOERROR' };

function intSetting(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number (got ${text})`);
  return value;
}

/** BENCH_COMPARE: `label=dist,…` → Map of `poolsink@label` → dist directory. */
function compareBuilds() {
  const builds = new Map();
  for (const item of (process.env.BENCH_COMPARE ?? '').split(',')) {
    if (item.trim() === '') continue;
    const at = item.indexOf('=');
    if (at <= 0) throw new Error(`BENCH_COMPARE: ${item} is not label=/path/to/dist`);
    const distDir = resolve(item.slice(at + 1).trim());
    if (!existsSync(join(distDir, 'cli.js'))) throw new Error(`BENCH_COMPARE: no cli.js in ${distDir}`);
    builds.set(`poolsink@${item.slice(0, at).trim()}`, distDir);
  }
  return builds;
}

function readSettings() {
  const qps = intSetting('BENCH_QPS', 20_000);
  const wanted = (process.env.BENCH_SERVERS ?? ALL_SERVERS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const name of wanted) {
    if (!ALL_SERVERS.includes(name))
      throw new Error(`BENCH_SERVERS: unknown ${name} (known: ${ALL_SERVERS.join(', ')})`);
  }
  if (!wanted.includes('floor')) wanted.unshift('floor'); // ratios need it
  const compare = compareBuilds();
  wanted.push(...compare.keys());
  return {
    compare,
    seconds: intSetting('BENCH_SECONDS', 5),
    qps,
    missQps: intSetting('BENCH_MISS_QPS', Math.floor(qps / 2)),
    rounds: Math.max(1, intSetting('BENCH_ROUNDS', 2)),
    warmupSeconds: intSetting('BENCH_WARMUP_SECONDS', 1),
    serverCore: intSetting('BENCH_SERVER_CORE', 0),
    clientCore: intSetting('BENCH_CLIENT_CORE', 1),
    wanted,
  };
}

const log = (line) => process.stdout.write(`${line}\n`);

async function startServer(name, ctx) {
  const port = await findFreePort();
  const compareDist = ctx.settings.compare.get(name);
  let argv;
  if (name === 'floor')
    argv = [process.execPath, join(ROOT, 'scripts', 'trivial-responder.mjs'), '--port', String(port)];
  else if (compareDist === undefined) argv = serverArgv(name, { ...ctx, port });
  else {
    const dir = join(ctx.dir, name.replace('@', '-'));
    mkdirSync(dir, { recursive: true });
    argv = serverArgv('poolsink', { ...ctx, dir, port, distDir: compareDist });
  }
  const child = startPinned(argv, { core: ctx.settings.serverCore, cwd: ctx.dir });
  child.stdout.resume();
  await waitUntilAnswering(port, { child, name, timeoutMs: 120_000 });
  return { name, child, pid: child.pid, port };
}

async function measure(server, load, file, settings) {
  const qps = load === 'miss' ? settings.missQps : settings.qps;
  const before = sampleCpu(server.pid);
  const perf = await runDnsperf({
    port: server.port,
    file,
    seconds: settings.seconds,
    qps,
    core: settings.clientCore,
    track,
  });
  // Work the run left behind (poolsink's block-log writer thread catching up) is part of its cost.
  const after = await untilIdle(server.pid, 30_000);
  const micros = cpuMicros(before, after).micros;
  const main = mainThreadMicros(before, after);
  const expected = server.name === 'floor' ? 'NXDOMAIN' : EXPECTED_RCODE[load];
  const problems = [];
  if ((perf.rcodes[expected] ?? 0) < perf.completed * 0.99) problems.push(`rcodes ${JSON.stringify(perf.rcodes)}`);
  if (perf.lost > perf.sent * 0.05) problems.push(`${perf.lost} of ${perf.sent} lost`);
  return {
    server: server.name,
    load,
    qps: perf.qps,
    completed: perf.completed,
    usPerQuery: perf.completed > 0 ? micros / perf.completed : Number.NaN,
    mainUsPerQuery: perf.completed > 0 && main !== undefined ? main / perf.completed : Number.NaN,
    problems,
  };
}

function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function formatTable(runs, servers, notes) {
  const cell = (name, load) => {
    const mine = runs.filter((r) => r.server === name && r.load === load);
    if (mine.length === 0) return '—';
    const us = median(mine.map((r) => r.usPerQuery));
    const floor = median(runs.filter((r) => r.server === 'floor' && r.load === load).map((r) => r.usPerQuery));
    const qps = median(mine.map((r) => r.qps));
    const ratio = name === 'floor' ? '' : ` (${(us / floor).toFixed(2)}x)`;
    const bad = mine.some((r) => r.problems.length > 0) ? ' ⚠' : '';
    return `${us.toFixed(1)}${ratio}, ${Math.round(qps).toLocaleString('en-US')} qps${bad}`;
  };
  const lines = [
    '| server | blocked µs/query | cached µs/query | miss µs/query |',
    '|---|---|---|---|',
    ...servers.map(
      (name) =>
        `| ${name === 'floor' ? 'floor (trivial Node dgram responder)' : name} | ${LOADS.map((l) => cell(name, l)).join(' | ')} |`,
    ),
  ];
  for (const name of servers.filter((n) => n === 'poolsink' || n.startsWith('poolsink@'))) {
    const main = LOADS.map((load) =>
      median(runs.filter((r) => r.server === name && r.load === load).map((r) => r.mainUsPerQuery)),
    );
    if (main.some(Number.isFinite)) {
      notes.push(
        `${name} main (DNS) thread alone: ${main.map((v, i) => `${LOADS[i]} ${v.toFixed(1)}`).join(', ')} µs/query`,
      );
    }
  }
  return [...lines, '', ...notes.map((n) => `- ${n}`)].join('\n');
}

async function main() {
  const settings = readSettings();
  if (!dnsperfAvailable()) throw new Error('dnsperf is not installed (apt-get install dnsperf)');
  if (settings.wanted.includes('poolsink') && !existsSync(join(DIST, 'cli.js')))
    throw new Error('run npm run build first');
  spawnSync('taskset', ['-a', '-p', '-c', String(settings.clientCore), String(process.pid)], { stdio: 'ignore' });
  const notes = [];
  const servers = settings.wanted.filter((name) => {
    const foreign = FOREIGN_SERVERS.find((s) => s.name === name);
    if (foreign === undefined || installed(foreign)) return true;
    notes.push(`${name} skipped: ${foreign.binary} not installed (apt-get install ${foreign.package})`);
    return false;
  });
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-side-by-side-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const tag = Math.random().toString(36).slice(2, 8);
  const listFile = join(dir, 'list.txt');
  writeDomainList(listFile, LIST_SIZE);
  const files = { blocked: join(dir, 'blocked.txt'), cached: join(dir, 'cached.txt') };
  writeBlockedQueries(files.blocked, { listSize: LIST_SIZE, count: 20_000 });
  writeCachedQueries(files.cached, { count: 1_000 });
  const missCount =
    Math.ceil(Math.max(settings.missQps, 1000) * Math.max(settings.seconds, settings.warmupSeconds) * 1.1) + 1000;
  const missFile = (server, round) => {
    const file = join(dir, `miss-${server}-${round}.txt`);
    writeUniqueQueries(file, { count: missCount, tag: `${tag}${server}${round}` });
    return file;
  };

  const upstreamChild = startPinned([process.execPath, join(ROOT, 'scripts', 'bench', 'upstream.mjs')], {
    core: settings.clientCore,
  });
  const { port: upstreamPort } = await firstJsonLine(upstreamChild, 'upstream');
  log(
    `upstream stand-in on 127.0.0.1:${upstreamPort}; servers on core ${settings.serverCore}, dnsperf on core ${settings.clientCore}`,
  );
  const ctx = { dir, upstreamPort, listFile, distDir: DIST, settings };

  // All servers run for the whole bench (idle ones cost next to nothing) and the measured runs
  // are interleaved, server after server for each load and round, so drift on this shared machine
  // spreads over all of them instead of landing on whichever ran last.
  const started = [];
  for (const name of servers) {
    const server = await startServer(name, ctx);
    started.push(server);
    log(`${name}: pid ${server.pid} on 127.0.0.1:${server.port}`);
    await runDnsperf({
      port: server.port,
      file: files.cached,
      maxRuns: 1,
      qps: settings.qps,
      core: settings.clientCore,
      track,
    });
    if (settings.warmupSeconds > 0) {
      for (const load of LOADS) {
        const file = load === 'miss' ? missFile(name, 'w') : files[load];
        const qps = load === 'miss' ? settings.missQps : settings.qps;
        await runDnsperf({
          port: server.port,
          file,
          seconds: settings.warmupSeconds,
          qps,
          core: settings.clientCore,
          track,
        });
      }
    }
  }
  const runs = [];
  for (let round = 0; round < settings.rounds; round++) {
    for (const load of LOADS) {
      for (const server of started) {
        const name = server.name;
        const run = await measure(server, load, load === 'miss' ? missFile(name, round) : files[load], settings);
        runs.push(run);
        log(
          `  ${name.padEnd(8)} ${load.padEnd(7)} ${run.qps.toFixed(0).padStart(6)} qps ${run.usPerQuery.toFixed(2).padStart(7)} µs/q` +
            (run.problems.length > 0 ? `  PROBLEM: ${run.problems.join('; ')}` : ''),
        );
      }
    }
  }
  for (const server of started) await stopChild(server.child);
  await stopChild(upstreamChild);
  notes.unshift(
    `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${settings.qps.toLocaleString('en-US')} qps offered ` +
      `(misses ${settings.missQps.toLocaleString('en-US')}), ${settings.rounds} × ${settings.seconds} s per cell, medians; ` +
      'µs of server CPU (all threads) per answered query, ratio to the floor in brackets',
  );
  log(`\n${formatTable(runs, servers, notes)}`);
}

main().then(
  () => stopAll(),
  async (err) => {
    process.stderr.write(`side-by-side: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
