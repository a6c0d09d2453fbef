/**
 * The fuzz bench mode (BENCH_ONLY=fuzz1m): runs scripts/fuzz.mjs with 1,000,000 packets against a
 * poolsink it starts itself, and reports its numbers (RSS before and after, answers by RCODE).
 * The fuzz runs on all cores given (poolsink and the fuzzer each want one).
 */
import { join } from 'node:path';
import { startPinned } from '../bench/children.mjs';
import { ROOT } from './stack-process.mjs';

const MB = 1024 * 1024;

export async function runFuzzBench({ count = 1_000_000, cores, log }) {
  log(`fuzz: ${count.toLocaleString('en-US')} packets (node scripts/fuzz.mjs --count ${count} --json)`);
  const child = startPinned([process.execPath, join(ROOT, 'scripts', 'fuzz.mjs'), '--count', String(count), '--json'], {
    core: cores,
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  const [code, signal] = await new Promise((done) => child.on('exit', (c, s) => done([c, s])));
  const line = stdout.trim().split('\n').pop() ?? '';
  let report;
  try {
    report = JSON.parse(line);
  } catch {
    throw new Error(`the fuzz run failed (${signal ?? `exit ${code}`}):\n${child.stderrTail.trim()}`);
  }
  return { exitCode: code, report };
}

export function formatFuzzBenchReport({ exitCode, report }) {
  const { run, rss } = report;
  const mb = (bytes) => (bytes === undefined ? '?' : `${(bytes / MB).toFixed(1)} MB`);
  const answers = ['udp', 'tcp'].map(
    (t) =>
      `${t} ${run.answers[t].total} (${Object.entries(run.answers[t].byRcode)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
  );
  const normal = Object.entries(report.finalQuery).map(([t, a]) => `${t} ${a.answered ? a.rcode : 'NO ANSWER'}`);
  return [
    `Fuzz: ${run.sent.total.toLocaleString('en-US')} packets (udp ${run.sent.udp}, tcp ${run.sent.tcp}) in ${(run.durationMs / 1000).toFixed(1)} s, seed ${run.seed}`,
    `  answers: ${answers.join('; ')}`,
    `  poolsink RSS: ${mb(rss.beforeBytes)} before (after the warm-up), ${mb(rss.afterBytes)} after, growth ${mb(rss.growthBytes)}` +
      ` (limit ${report.maxGrowthMb} MB); every 10%: ${rss.series.map((s) => mb(s.rssBytes).replace(' MB', '')).join(', ')} MB`,
    `  normal query afterwards: ${normal.join(', ')}`,
    `  result: ${exitCode === 0 ? 'PASS' : `FAIL: ${report.problems.join('; ')}`}`,
  ].join('\n');
}
