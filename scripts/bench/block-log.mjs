/**
 * `BENCH_ONLY=blocklog` (opt-in): issue 14's blocked queries with the block log on, whole process,
 * as a ratio to the trivial Node dgram responder measured in the same run (rounds interleaved):
 *
 *  - `one name`: one client retrying one blocked name (a miner retrying its pool), the common
 *    case: target <= 1.1x the floor;
 *  - `unique`: every query a new random subdomain of a blocked apex, the worst case (no repeat to
 *    coalesce, every query a row): target <= 1.3x.
 *
 * Each load runs against poolsink with the default database.coalesceWindowMs (10 s) and, for
 * comparison, with coalesceWindowMs 0 (a row per query, the behaviour before coalescing). CPU is
 * read from /proc for the whole process (DNS thread and block-log writer thread) until it is idle
 * after the load, as for the other loads. Prints numbers; never fails on a missed target.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild } from './children.mjs';
import { listDomain, writeDomainList } from './data.mjs';
import { median } from './report.mjs';

const LIST_SIZE = 100_000;
const TARGETS = { one: 1.1, unique: 1.3 };
const LOADS = ['one', 'unique'];

/** Unique names under blocked apexes: `r<i>-<tag>.pool-<n>.bench-mining.test`. */
function writeUniqueBlocked(path, count, tag) {
  const lines = [];
  for (let i = 0; i < count; i += 1) lines.push(`r${i}-${tag}.${listDomain(i % LIST_SIZE)} A`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function uniqueCount(settings, seconds) {
  const rate = settings.qps > 0 ? settings.qps : 150_000;
  return Math.ceil(rate * Math.max(1, seconds) * 1.1) + 1000;
}

async function startServers(deps, dir, upstreamPort, listFile) {
  const servers = [await deps.startTrivial()];
  servers[0].label = 'trivial';
  for (const [label, windowMs] of [
    ['coalesce', undefined],
    ['row-each', 0],
  ]) {
    const serverDir = join(dir, label);
    mkdirSync(serverDir, { recursive: true });
    // Two servers at once: each its own admin port.
    const extraYaml = ['admin: { listen: "127.0.0.1:0" }'];
    if (windowMs !== undefined) extraYaml.push(`database: { coalesceWindowMs: ${windowMs} }`);
    const server = await deps.startPoolsink(serverDir, deps.settings, { upstreamPort, listFile, extraYaml });
    server.label = label;
    servers.push(server);
  }
  return servers;
}

export async function runBlockLogBench({ deps, dir, runTag, log }) {
  const { settings } = deps;
  const benchDir = join(dir, 'blocklog');
  mkdirSync(benchDir, { recursive: true });
  const listFile = join(benchDir, 'list-100k.txt');
  writeDomainList(listFile, LIST_SIZE);
  const files = {
    one: join(benchDir, 'queries-one.txt'),
    uniqueWarmup: join(benchDir, 'queries-unique-warmup.txt'),
    unique: [],
  };
  writeFileSync(files.one, `retry.${listDomain(7)} A\n`);
  writeUniqueBlocked(files.uniqueWarmup, uniqueCount(settings, settings.warmupSeconds), `${runTag}w`);
  for (let round = 0; round < settings.rounds; round += 1) {
    const file = join(benchDir, `queries-unique-${round}.txt`);
    // One file per round (each server gets it once): a name queried again would be a repeat.
    writeUniqueBlocked(file, uniqueCount(settings, settings.seconds), `${runTag}r${round}`);
    files.unique.push(file);
  }
  const upstream = await deps.startUpstream();
  const servers = await startServers(deps, benchDir, upstream.port, listFile);
  log(`blocklog: ${servers.map((s) => `${s.label} pid ${s.pid}`).join(', ')}`);
  const runs = [];
  try {
    log(`blocklog: warming up (${settings.warmupSeconds} s per load and server)`);
    for (const server of servers) {
      await deps.warmUp(server, 'blocked', files.one, settings, settings.warmupSeconds);
      await deps.warmUp(server, 'blocked', files.uniqueWarmup, settings, settings.warmupSeconds);
    }
    for (let round = 0; round < settings.rounds; round += 1) {
      for (const load of LOADS) {
        for (const server of servers) {
          const file = load === 'one' ? files.one : files.unique[round];
          const run = await deps.measure(server, 'blocked', file, settings, { round });
          run.label = server.label;
          run.blockLoad = load;
          runs.push(run);
          log(`${deps.describeRun(run).replace(/^ {2}\S+\s+blocked/, `  ${server.label.padEnd(9)}${load.padEnd(7)}`)}`);
        }
      }
    }
  } finally {
    for (const server of servers) await stopChild(server.child);
    await stopChild(upstream.child);
    if (!settings.keepFiles) rmSync(benchDir, { recursive: true, force: true });
  }
  const summary = {};
  for (const load of LOADS) {
    summary[load] = {};
    for (const server of servers) {
      const mine = runs.filter((r) => r.blockLoad === load && r.label === server.label);
      summary[load][server.label] = {
        qps: median(mine.map((r) => r.qps)),
        microsPerQuery: median(mine.map((r) => r.microsPerQuery)),
        mainMicrosPerQuery: median(mine.map((r) => r.mainMicrosPerQuery)),
      };
    }
  }
  return { summary, runs };
}

function us(value) {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(2);
}

export function formatBlockLogReport({ summary }) {
  const lines = ['blocked queries with the block log on, whole process (BENCH_ONLY=blocklog), medians'];
  for (const load of LOADS) {
    const row = summary[load];
    const floor = row.trivial?.microsPerQuery;
    const title = load === 'one' ? 'one client retrying one name' : 'all-unique names (random subdomains)';
    lines.push(`  ${title}:`);
    lines.push(`    trivial responder (floor):      ${us(floor)} us/q, ${row.trivial?.qps?.toFixed(0)} qps`);
    for (const label of ['coalesce', 'row-each']) {
      const r = row[label];
      const ratio = r?.microsPerQuery / floor;
      const name = label === 'coalesce' ? 'poolsink, coalesceWindowMs 10 s' : 'poolsink, coalesceWindowMs 0  ';
      const verdict =
        label === 'coalesce' ? ` (target <= ${TARGETS[load]}x: ${ratio <= TARGETS[load] ? 'met' : 'FAIL'})` : '';
      lines.push(
        `    ${name}: ${us(r?.microsPerQuery)} us/q (DNS thread ${us(r?.mainMicrosPerQuery)}), ${r?.qps?.toFixed(0)} qps, ${Number.isFinite(ratio) ? ratio.toFixed(2) : '-'}x the floor${verdict}`,
      );
    }
  }
  return lines.join('\n');
}
