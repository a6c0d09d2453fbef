/**
 * The soak bench mode (BENCH_ONLY=soak): poolsink under a steady mixed load of blocked, cached and
 * missed names for a long time, driven by dnsperf at a fixed rate, with its RSS sampled every few
 * seconds and answer latency measured by a light sampler of our own (dnsperf reports only the
 * average). Memory must be flat: before the measured part starts, one pass of unique names fills
 * the cache (100,000 entries) and a warm-up at the target rate lets the heap settle, so growth
 * after that is a leak. RSS under load is a sawtooth (the V8 heap grows between major collections
 * and shrinks after them, by 100 MB and more), so start and end alone say little over a short run:
 * the verdict compares troughs, the lowest RSS of the second quarter of the run with that of the
 * last quarter (the first quarter is left for the heap to settle into its cycle).
 * All traffic stays on 127.0.0.1.
 *
 * Environment (all optional):
 *   BENCH_SOAK_SECONDS         measured duration (600)
 *   BENCH_SOAK_QPS             dnsperf rate (20000)
 *   BENCH_SOAK_WARMUP_SECONDS  unmeasured load at the target rate after the cache is filled (60)
 *   BENCH_SOAK_SAMPLE_SECONDS  RSS sampling interval (5; at least 4 samples per quarter are needed)
 *   BENCH_SOAK_MIX             blocked,cached,miss shares in percent (40,40,20)
 *   BENCH_SOAK_MAX_GROWTH_MB   trough-to-trough RSS growth that still counts as flat (32)
 *   BENCH_SOAK_NODE_OPTIONS    node flags for poolsink (--max-old-space-size=512, as the Dockerfile
 *                              and systemd unit ship; empty for node's defaults)
 */
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild, track } from './children.mjs';
import { listDomain, seededRandom, writeDomainList } from './data.mjs';
import { encodeQuery, readResponseHeader } from './dns-message.mjs';
import { runDnsperf } from './dnsperf.mjs';
import { cpuMicros, readRssBytes, sampleCpu } from './proc-cpu.mjs';
import { startPoolsinkProcess, startUpstreamProcess } from '../fuzz/stack-process.mjs';

const LIST_SIZE = 100_000;
const CACHED_NAMES = 1_000;
const CACHE_ENTRIES = 100_000;
const MB = 1e6;
/** The latency sampler sends one query this often (about 100 qps beside dnsperf's load). */
const SAMPLER_INTERVAL_MS = 10;
const SAMPLER_TIMEOUT_MS = 1000;

function intSetting(env, name, fallback, min, max) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`);
  return value;
}

export function readSoakSettings(env) {
  const mix = (env.BENCH_SOAK_MIX ?? '40,40,20').split(',').map(Number);
  if (mix.length !== 3 || mix.some((n) => !Number.isInteger(n) || n < 0) || mix[0] + mix[1] + mix[2] !== 100) {
    throw new Error(
      `BENCH_SOAK_MIX must be three whole percentages (blocked,cached,miss) adding up to 100 (got ${JSON.stringify(env.BENCH_SOAK_MIX)})`,
    );
  }
  const settings = {
    seconds: intSetting(env, 'BENCH_SOAK_SECONDS', 600, 10, 86_400),
    qps: intSetting(env, 'BENCH_SOAK_QPS', 20_000, 100, 10_000_000),
    warmupSeconds: intSetting(env, 'BENCH_SOAK_WARMUP_SECONDS', 60, 0, 3_600),
    sampleSeconds: intSetting(env, 'BENCH_SOAK_SAMPLE_SECONDS', 5, 1, 600),
    maxGrowthMb: intSetting(env, 'BENCH_SOAK_MAX_GROWTH_MB', 32, 1, 100_000),
    nodeArgs: (env.BENCH_SOAK_NODE_OPTIONS ?? '--max-old-space-size=512').split(' ').filter((arg) => arg !== ''),
    mix: { blocked: mix[0] / 100, cached: mix[1] / 100, miss: mix[2] / 100 },
  };
  if (settings.sampleSeconds * 4 > settings.seconds) {
    throw new Error(
      `BENCH_SOAK_SAMPLE_SECONDS (${settings.sampleSeconds}) must be at most a quarter of BENCH_SOAK_SECONDS (${settings.seconds})`,
    );
  }
  return settings;
}

/** VmRSS split into anonymous memory (heap, buffers: where a leak shows) and file mappings (an mmap'd database). */
function readRssParts(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kb('VmRSS'), anonBytes: kb('RssAnon'), fileBytes: kb('RssFile') + kb('RssShmem') };
  } catch {
    return undefined; // the process is gone
  }
}

function cachedName(i) {
  return `c${i}.cached-bench.test`;
}

/**
 * A dnsperf file of `count` lines mixing the three loads. Misses are unique names (tagged per
 * file); the file is long enough that by the time dnsperf wraps around, its first misses have been
 * pushed out of the cache by newer ones.
 */
function writeMixedQueries(path, { count, mix, tag, seed }) {
  const random = seededRandom(seed);
  const fd = openSync(path, 'w');
  try {
    const lines = [];
    for (let i = 0; i < count; i += 1) {
      const roll = random();
      if (roll < mix.blocked) {
        const domain = listDomain(Math.floor(random() * LIST_SIZE));
        lines.push(random() < 0.5 ? `${domain} A` : `w${i}.${domain} A`);
      } else if (roll < mix.blocked + mix.cached) {
        lines.push(`${cachedName(Math.floor(random() * CACHED_NAMES))} A`);
      } else {
        lines.push(`u${i}-${tag}.miss-bench.test A`);
      }
      if (lines.length === 50_000) {
        writeSync(fd, `${lines.join('\n')}\n`);
        lines.length = 0;
      }
    }
    if (lines.length > 0) writeSync(fd, `${lines.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
}

function writeCachedQueries(path) {
  const fd = openSync(path, 'w');
  writeSync(fd, `${Array.from({ length: CACHED_NAMES }, (_, i) => `${cachedName(i)} A`).join('\n')}\n`);
  closeSync(fd);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/**
 * Sends one query every SAMPLER_INTERVAL_MS (blocked, cached and missed names in turn) and records
 * each answer's round trip. Returns { stop(): Promise<{ byLoad, lost }> }.
 */
function startLatencySampler(port, tag) {
  const socket = createSocket('udp4');
  const pending = new Map();
  const latencies = { blocked: [], cached: [], miss: [] };
  let lost = 0;
  let nextId = 0;
  let n = 0;
  socket.on('message', (msg) => {
    const header = readResponseHeader(msg);
    const entry = header === undefined ? undefined : pending.get(header.id);
    if (entry === undefined) return;
    pending.delete(header.id);
    latencies[entry.load].push(Number(process.hrtime.bigint() - entry.sentAt) / 1e6);
  });
  socket.on('error', () => {
    // a send failure is counted as a lost sample by the timeout below
  });
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    for (const [id, entry] of pending) {
      if (Number(now - entry.sentAt) / 1e6 > SAMPLER_TIMEOUT_MS) {
        pending.delete(id);
        lost += 1;
      }
    }
    const load = ['blocked', 'cached', 'miss'][n % 3];
    const qname =
      load === 'blocked'
        ? listDomain(n % LIST_SIZE)
        : load === 'cached'
          ? cachedName(n % CACHED_NAMES)
          : `s${n}-${tag}.sample-miss.test`;
    n += 1;
    nextId = (nextId + 1) & 0xffff;
    pending.set(nextId, { load, sentAt: process.hrtime.bigint() });
    socket.send(encodeQuery(qname, nextId), port, '127.0.0.1');
  }, SAMPLER_INTERVAL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await new Promise((resolve) => setTimeout(resolve, SAMPLER_TIMEOUT_MS));
      lost += pending.size;
      socket.close();
      return { latencies, lost };
    },
  };
}

function summarizeLatencies(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1],
  };
}

/** Least-squares slope of RSS over time, in MB per minute. */
function slopeMbPerMinute(samples) {
  if (samples.length < 2) return undefined;
  const xs = samples.map((s) => s.atSec / 60);
  const ys = samples.map((s) => s.rssBytes / MB);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i += 1) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? undefined : num / den;
}

/**
 * Runs the soak. `bench` carries the bench's settings (serverCore, clientCore); `dir` is a work
 * directory; `log(line)` prints progress. Resolves with the numbers formatSoakReport prints.
 */
export async function runSoak({ env = process.env, bench, dir, runTag, log }) {
  const settings = readSoakSettings(env);
  const listFile = join(dir, 'soak-list-100k.txt');
  const cachedFile = join(dir, 'soak-cached.txt');
  const warmupFile = join(dir, 'soak-warmup.txt');
  const mixedFile = join(dir, 'soak-mixed.txt');
  const fillFile = join(dir, 'soak-fill.txt');
  // Long enough that the misses of one pass (share × lines) are more than the cache holds.
  const mixedLines = Math.max(
    Math.ceil((1.5 * CACHE_ENTRIES) / Math.max(settings.mix.miss, 0.01)),
    Math.min(settings.qps * settings.seconds, 2_000_000),
  );
  log(`soak: writing the 100,000-domain list and ${mixedLines.toLocaleString('en-US')} mixed queries in ${dir}`);
  writeDomainList(listFile, LIST_SIZE);
  writeCachedQueries(cachedFile);
  writeMixedQueries(fillFile, {
    count: Math.ceil(CACHE_ENTRIES * 1.2),
    mix: { blocked: 0, cached: 0, miss: 1 },
    tag: `${runTag}sf`,
    seed: 9,
  });
  writeMixedQueries(mixedFile, { count: mixedLines, mix: settings.mix, tag: `${runTag}s`, seed: 7 });
  writeMixedQueries(warmupFile, {
    count: Math.max(1000, settings.qps * settings.warmupSeconds),
    mix: settings.mix,
    tag: `${runTag}sw`,
    seed: 8,
  });

  const upstream = await startUpstreamProcess({ core: bench.clientCore });
  // All load comes from one address (dnsperf's), far above the per-client default: no rate limit.
  const poolsink = await startPoolsinkProcess({
    dir,
    listFile,
    upstreamPort: upstream.port,
    cacheMaxEntries: CACHE_ENTRIES,
    core: bench.serverCore,
    dnsYaml: ['  rateLimit: { qps: 0 }'],
    nodeArgs: settings.nodeArgs,
  });
  log(
    `soak: poolsink pid ${poolsink.pid} on 127.0.0.1:${poolsink.port} (core ${bench.serverCore}, node ${settings.nodeArgs.join(' ') || 'defaults'}), upstream pid ${upstream.pid} (core ${bench.clientCore})`,
  );
  try {
    const rssAtStartup = readRssBytes(poolsink.pid);
    // Misses only, so at half the rate (the upstream shares the client core), then the hot names.
    log(`soak: filling the cache with ${Math.ceil(CACHE_ENTRIES * 1.2).toLocaleString('en-US')} unique names`);
    await runDnsperf({
      port: poolsink.port,
      file: fillFile,
      maxRuns: 1,
      qps: Math.ceil(settings.qps / 2),
      core: bench.clientCore,
      track,
    });
    await runDnsperf({
      port: poolsink.port,
      file: cachedFile,
      maxRuns: 1,
      qps: settings.qps,
      core: bench.clientCore,
      track,
    });
    if (settings.warmupSeconds > 0) {
      log(`soak: warming up for ${settings.warmupSeconds} s at ${settings.qps} qps`);
      await runDnsperf({
        port: poolsink.port,
        file: warmupFile,
        seconds: settings.warmupSeconds,
        qps: settings.qps,
        core: bench.clientCore,
        track,
      });
    }
    log(
      `soak: ${settings.seconds} s at ${settings.qps} qps (blocked ${settings.mix.blocked * 100}%, cached ${settings.mix.cached * 100}%, miss ${settings.mix.miss * 100}%)`,
    );
    const startedAt = performance.now();
    const loadavgBefore = readFileSync('/proc/loadavg', 'utf8').trim();
    const cpuBefore = sampleCpu(poolsink.pid);
    const samples = [{ atSec: 0, ...readRssParts(poolsink.pid) }];
    const sampleTimer = setInterval(() => {
      const parts = readRssParts(poolsink.pid);
      if (parts === undefined) return;
      const atSec = (performance.now() - startedAt) / 1000;
      samples.push({ atSec, ...parts });
      if (samples.length % Math.max(1, Math.round(60 / settings.sampleSeconds)) === 0) {
        log(
          `soak: ${atSec.toFixed(0)} s, poolsink RSS ${(parts.rssBytes / MB).toFixed(1)} MB (anonymous ${(parts.anonBytes / MB).toFixed(1)} MB)`,
        );
      }
    }, settings.sampleSeconds * 1000);
    const sampler = startLatencySampler(poolsink.port, runTag);
    let perf;
    try {
      perf = await runDnsperf({
        port: poolsink.port,
        file: mixedFile,
        seconds: settings.seconds,
        qps: settings.qps,
        core: bench.clientCore,
        track,
      });
    } finally {
      clearInterval(sampleTimer);
    }
    const cpu = cpuMicros(cpuBefore, sampleCpu(poolsink.pid));
    const wallMicros = (performance.now() - startedAt) * 1e3;
    const loadavgAfter = readFileSync('/proc/loadavg', 'utf8').trim();
    const sampled = await sampler.stop();
    const last = readRssParts(poolsink.pid);
    if (last !== undefined) samples.push({ atSec: (performance.now() - startedAt) / 1000, ...last });
    const start = samples[0].rssBytes;
    const end = samples[samples.length - 1].rssBytes;
    const anonGrowthMb = (samples[samples.length - 1].anonBytes - samples[0].anonBytes) / MB;
    const lowestBetween = (fromSec, toSec) =>
      Math.min(...samples.filter((x) => x.atSec >= fromSec && x.atSec <= toSec).map((x) => x.rssBytes));
    const quarter = settings.seconds / 4;
    const troughGrowthMb = (lowestBetween(3 * quarter, Infinity) - lowestBetween(quarter, 2 * quarter)) / MB;
    const all = [...sampled.latencies.blocked, ...sampled.latencies.cached, ...sampled.latencies.miss];
    const growthMb = (end - start) / MB;
    const problems = [];
    if (perf.lost > perf.sent * 0.01) problems.push(`${perf.lost} of ${perf.sent} dnsperf queries lost`);
    if (perf.qps < settings.qps * 0.97) problems.push(`achieved ${perf.qps.toFixed(0)} of ${settings.qps} qps`);
    if (troughGrowthMb > settings.maxGrowthMb) {
      problems.push(
        `the lowest RSS of the last quarter is ${troughGrowthMb.toFixed(1)} MB above that of the second (> ${settings.maxGrowthMb} MB)`,
      );
    }
    const unexpected = Object.keys(perf.rcodes).filter((name) => !['NOERROR', 'NXDOMAIN'].includes(name));
    if (unexpected.length > 0) problems.push(`unexpected RCODEs: ${JSON.stringify(perf.rcodes)}`);
    return {
      settings,
      rss: {
        atStartupBytes: rssAtStartup,
        startBytes: start,
        endBytes: end,
        maxBytes: Math.max(...samples.map((s) => s.rssBytes)),
        growthMb,
        troughGrowthMb,
        anonGrowthMb,
        secondHalfSlopeMbPerMinute: slopeMbPerMinute(samples.filter((s) => s.atSec >= settings.seconds / 2)),
        samples,
      },
      cpu: {
        microsPerQuery: perf.completed > 0 ? cpu.micros / perf.completed : undefined,
        coreShare: cpu.micros / wallMicros,
        loadavgBefore,
        loadavgAfter,
      },
      dnsperf: {
        qps: perf.qps,
        sent: perf.sent,
        completed: perf.completed,
        lost: perf.lost,
        avgLatencyMs: perf.avgLatencyMs,
        rcodes: perf.rcodes,
        command: perf.command,
      },
      latencyMs: {
        all: summarizeLatencies(all),
        blocked: summarizeLatencies(sampled.latencies.blocked),
        cached: summarizeLatencies(sampled.latencies.cached),
        miss: summarizeLatencies(sampled.latencies.miss),
        lost: sampled.lost,
      },
      verdict: problems.length === 0 ? 'PASS' : 'FAIL',
      problems,
    };
  } finally {
    await stopChild(poolsink.child);
    await stopChild(upstream.child);
  }
}

function ms(value) {
  return value === undefined ? '-' : value.toFixed(3);
}

export function formatSoakReport(result) {
  const { settings, rss, dnsperf, latencyMs } = result;
  const out = [];
  out.push(
    `Soak: ${settings.seconds} s at ${settings.qps} qps (blocked ${settings.mix.blocked * 100}% / cached ${settings.mix.cached * 100}% / miss ${settings.mix.miss * 100}%), ` +
      `after ${settings.warmupSeconds} s of warm-up`,
  );
  out.push(
    `  dnsperf: ${dnsperf.qps.toFixed(0)} qps achieved, ${dnsperf.completed} of ${dnsperf.sent} answered (${dnsperf.lost} lost), ` +
      `average latency ${ms(dnsperf.avgLatencyMs)} ms, ${Object.entries(dnsperf.rcodes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
  );
  out.push(
    `  poolsink CPU: ${result.cpu.microsPerQuery === undefined ? '-' : result.cpu.microsPerQuery.toFixed(1)} us per answered query, ` +
      `${(result.cpu.coreShare * 100).toFixed(0)}% of its core; load average ${result.cpu.loadavgBefore.split(' ')[0]} before, ${result.cpu.loadavgAfter.split(' ')[0]} after`,
  );
  out.push(
    `  poolsink RSS: ${(rss.atStartupBytes / MB).toFixed(1)} MB at startup, ${(rss.startBytes / MB).toFixed(1)} MB at the start of the soak, ` +
      `${(rss.endBytes / MB).toFixed(1)} MB at the end (growth ${rss.growthMb.toFixed(1)} MB, max ${(rss.maxBytes / MB).toFixed(1)} MB, ` +
      `second-half slope ${rss.secondHalfSlopeMbPerMinute === undefined ? '-' : rss.secondHalfSlopeMbPerMinute.toFixed(2)} MB/min)`,
  );
  out.push(
    `  RSS troughs: the last quarter's lowest is ${rss.troughGrowthMb.toFixed(1)} MB above the second quarter's (flat means <= ${settings.maxGrowthMb} MB)`,
  );
  const first = rss.samples[0];
  const lastSample = rss.samples[rss.samples.length - 1];
  out.push(
    `  of which anonymous (heap, buffers) ${(first.anonBytes / MB).toFixed(1)} -> ${(lastSample.anonBytes / MB).toFixed(1)} MB (growth ${rss.anonGrowthMb.toFixed(1)} MB), ` +
      `file-backed ${(first.fileBytes / MB).toFixed(1)} -> ${(lastSample.fileBytes / MB).toFixed(1)} MB`,
  );
  out.push('  answer latency (sampler, ms):   count      p50      p90      p99    p99.9      max');
  for (const load of ['all', 'blocked', 'cached', 'miss']) {
    const l = latencyMs[load];
    out.push(
      `    ${load.padEnd(26)} ${String(l.count).padStart(7)} ${[l.p50, l.p90, l.p99, l.p999, l.max].map((v) => ms(v).padStart(8)).join(' ')}`,
    );
  }
  if (latencyMs.lost > 0)
    out.push(`    (${latencyMs.lost} sampler queries unanswered within ${SAMPLER_TIMEOUT_MS} ms)`);
  out.push(`  result: ${result.verdict}${result.problems.length > 0 ? `: ${result.problems.join('; ')}` : ''}`);
  return out.join('\n');
}
