/**
 * Fuzzes a poolsink DNS server with random and mutated packets over UDP and TCP, then checks that
 * it is still up, that its memory stayed flat, and that a normal query still gets its answer.
 *
 *   node scripts/fuzz.mjs [--count N] [--port P] [--host 127.0.0.1] [--seed S] [--tcp-share 0.2]
 *                         [--warmup N] [--pid PID] [--qname NAME] [--max-growth-mb 16] [--json]
 *
 * Without --port, it starts poolsink itself from dist/ (run `npm run build` first) with a local
 * upstream and a small blocklist, and stops both afterwards. With --port, it fuzzes the server
 * already listening there; RSS is read from --pid, or from the process `ss` shows on that port.
 * Only loopback targets (127.0.0.0/8, ::1) are accepted.
 *
 * RSS is read after a warm-up (--warmup packets, default 100,000: the cache fills and the V8 heap
 * grows to its working size, which is most of the RSS a fresh process gains) and again after the
 * run; the growth must stay under --max-growth-mb. RSS is also sampled every tenth of the run: a
 * leak shows as steady growth, heap slack as a plateau.
 * Exit status: 0 all checks passed, 1 a check failed, 2 bad usage or setup.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopAll, stopChild } from './bench/children.mjs';
import { readRssBytes } from './bench/proc-cpu.mjs';
import { answerProblems, checkNormalQuery, isLoopback, runFuzz } from './fuzz/run.mjs';
import { distBuilt, fileTail, isRunning, startPoolsinkProcess, startUpstreamProcess } from './fuzz/stack-process.mjs';

class UsageError extends Error {}

const MB = 1024 * 1024;
const BLOCKED_NAME = 'pool.example';

function readOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string', default: '100000' },
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string', default: '1' },
      'tcp-share': { type: 'string', default: '0.2' },
      pid: { type: 'string' },
      qname: { type: 'string', default: 'after-fuzz.example' },
      warmup: { type: 'string', default: '100000' },
      'max-growth-mb': { type: 'string', default: '16' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const int = (name, min, max) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
    return value;
  };
  const tcpShare = Number(values['tcp-share']);
  if (!(tcpShare >= 0 && tcpShare <= 1)) throw new UsageError('--tcp-share must be between 0 and 1');
  if (!isLoopback(values.host))
    throw new UsageError(`--host must be a loopback address (127.0.0.0/8 or ::1), got ${values.host}`);
  return {
    count: int('count', 1, 100_000_000),
    port: values.port === undefined ? undefined : int('port', 1, 65535),
    host: values.host,
    seed: int('seed', 0, 2 ** 31),
    warmup: int('warmup', 0, 100_000_000),
    tcpShare,
    pid: values.pid === undefined ? undefined : int('pid', 1, 2 ** 22),
    qname: values.qname,
    maxGrowthMb: int('max-growth-mb', 1, 100_000),
    json: values.json,
  };
}

/** The pid listening on UDP `port`, from `ss` (may need root to see other users' sockets). */
function pidListeningOn(port) {
  const result = spawnSync('ss', ['-lunpH', `sport = :${port}`], { encoding: 'utf8' });
  const match = /pid=(\d+)/.exec(result.stdout ?? '');
  return match ? Number(match[1]) : undefined;
}

async function startOwnServer() {
  if (!distBuilt()) throw new UsageError('dist/cli.js not found: run `npm run build` first (or pass --port)');
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-fuzz-'));
  const listFile = join(dir, 'list.txt');
  writeFileSync(listFile, `${BLOCKED_NAME}\nminexmr.test\n`);
  const upstream = await startUpstreamProcess();
  // A small cache: the fuzz's valid queries (names × types × classes × flags, tens of thousands of
  // keys) fill it during the warm-up, so growth afterwards is not the cache doing its job.
  // Rate limiting off: every packet is to reach the parser, not a REFUSED from the gate.
  const poolsink = await startPoolsinkProcess({
    dir,
    listFile,
    upstreamPort: upstream.port,
    cacheMaxEntries: 1_000,
    dnsYaml: ['  rateLimit: { qps: 0 }'],
  });
  return {
    dir,
    port: poolsink.port,
    pid: poolsink.pid,
    child: poolsink.child,
    logFile: poolsink.logFile,
    async stop() {
      await stopChild(poolsink.child);
      await stopChild(upstream.child);
    },
  };
}

function mb(bytes) {
  return bytes === undefined ? '?' : `${(bytes / MB).toFixed(1)} MB`;
}

function formatReport(report) {
  const lines = [];
  const { run } = report;
  lines.push(
    `sent ${run.sent.total.toLocaleString('en-US')} packets (udp ${run.sent.udp.toLocaleString('en-US')}, tcp ${run.sent.tcp.toLocaleString('en-US')} ` +
      `on ${run.tcp.connections} connections) in ${(run.durationMs / 1000).toFixed(1)} s, seed ${run.seed}`,
  );
  for (const transport of ['udp', 'tcp']) {
    const tally = run.answers[transport];
    const rcodes = Object.entries(tally.byRcode)
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${name} ${n}`)
      .join(', ');
    lines.push(`answers ${transport}: ${tally.total.toLocaleString('en-US')} (${rcodes || 'none'})`);
  }
  lines.push(`tcp: ${run.tcp.resets} connections reset by the server, ${run.tcp.errors} errors`);
  lines.push(
    `mutations: ${Object.entries(run.kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  if (report.rss.pid !== undefined) {
    lines.push(
      `server RSS (pid ${report.rss.pid}): at start ${mb(report.rss.startBytes)}, before (after the warm-up) ${mb(report.rss.beforeBytes)}, ` +
        `after the run ${mb(report.rss.afterBytes)}, growth ${mb(report.rss.growthBytes)} (limit ${report.maxGrowthMb} MB)`,
    );
  } else {
    lines.push('server RSS: unknown (pass --pid)');
  }
  for (const [transport, answer] of Object.entries(report.finalQuery)) {
    lines.push(
      `normal query ${report.qname} over ${transport}: ` +
        (answer.answered
          ? `${answer.rcode}, ${answer.answerCount} answer record(s), id ${answer.idMatches ? 'ok' : 'WRONG'}`
          : 'NO ANSWER'),
    );
  }
  lines.push(report.problems.length === 0 ? 'PASS' : `FAIL:\n  ${report.problems.join('\n  ')}`);
  return lines.join('\n');
}

async function main() {
  const options = readOptions(process.argv.slice(2));
  const own = options.port === undefined ? await startOwnServer() : undefined;
  const port = options.port ?? own.port;
  const pid = own?.pid ?? options.pid ?? pidListeningOn(port);
  const problems = [];
  const rssSeries = [];
  let nextSample = options.count / 10;
  const progress = (sent) => {
    if (sent < nextSample) return;
    nextSample += options.count / 10;
    const rss = pid === undefined ? undefined : readRssBytes(pid);
    rssSeries.push({ sent, rssBytes: rss });
    if (!options.json) process.stderr.write(`${sent.toLocaleString('en-US')} packets sent, server RSS ${mb(rss)}\n`);
  };
  try {
    const startBytes = pid === undefined ? undefined : readRssBytes(pid);
    if (options.warmup > 0) {
      await runFuzz({
        host: options.host,
        port,
        count: options.warmup,
        seed: options.seed + 1_000_003,
        tcpShare: options.tcpShare,
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const beforeBytes = pid === undefined ? undefined : readRssBytes(pid);
    const run = await runFuzz({
      host: options.host,
      port,
      count: options.count,
      seed: options.seed,
      tcpShare: options.tcpShare,
      onProgress: progress,
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const afterBytes = pid === undefined ? undefined : readRssBytes(pid);
    problems.push(...answerProblems(run));
    if (own !== undefined && !isRunning(own.child))
      problems.push(`poolsink exited: ${fileTail(own.logFile, 2000).trim()}`);
    if (pid !== undefined && afterBytes === undefined) problems.push(`the server process ${pid} is gone`);
    const growthBytes = beforeBytes !== undefined && afterBytes !== undefined ? afterBytes - beforeBytes : undefined;
    if (growthBytes !== undefined && growthBytes > options.maxGrowthMb * MB) {
      problems.push(`RSS grew by ${mb(growthBytes)}, more than ${options.maxGrowthMb} MB`);
    }
    const finalQuery = await checkNormalQuery({ host: options.host, port, qname: options.qname });
    for (const [transport, answer] of Object.entries(finalQuery)) {
      if (!answer.answered) problems.push(`no answer over ${transport} to a normal query for ${options.qname}`);
      else if (!answer.idMatches || !answer.questionEchoed)
        problems.push(`a malformed answer over ${transport} to a normal query`);
      // Our own server has a working upstream: the answer must be the real one.
      else if (own !== undefined && (answer.rcode !== 'NOERROR' || answer.answerCount !== 1)) {
        problems.push(
          `over ${transport}: ${options.qname} got ${answer.rcode} with ${answer.answerCount} records, expected NOERROR with 1`,
        );
      }
    }
    if (own !== undefined) {
      const blocked = await checkNormalQuery({ host: options.host, port, qname: BLOCKED_NAME });
      if (blocked.udp.rcode !== 'NXDOMAIN')
        problems.push(`the blocked name ${BLOCKED_NAME} got ${blocked.udp.rcode ?? 'no answer'}, expected NXDOMAIN`);
    }
    const report = {
      port,
      qname: options.qname,
      maxGrowthMb: options.maxGrowthMb,
      run,
      rss: { pid, startBytes, beforeBytes, afterBytes, growthBytes, series: rssSeries },
      finalQuery,
      problems,
    };
    process.stdout.write(`${options.json ? JSON.stringify(report) : formatReport(report)}\n`);
  } finally {
    if (own !== undefined) {
      await own.stop();
      rmSync(own.dir, { recursive: true, force: true });
    }
  }
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err) => {
    await stopAll();
    if (err instanceof UsageError) {
      if (err.message !== '') process.stderr.write(`fuzz: ${err.message}\n`);
      process.stderr.write(
        'usage: node scripts/fuzz.mjs [--count N] [--port P] [--host 127.0.0.1] [--seed S] [--tcp-share 0.2] [--warmup N] [--pid PID] [--qname NAME] [--max-growth-mb 16] [--json]\n',
      );
      process.exitCode = err.message === '' ? 0 : 2;
      return;
    }
    process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
