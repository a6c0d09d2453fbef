/**
 * Child process for the list-swap measurement: poolsink from dist/ (startPoolsink) with the list
 * manager feeding its resolver, wired the way main.ts wires it (onMatcher → resolver.setMatcher).
 * Driven over stdin, one JSON command per line; answers one JSON line each on stdout:
 *
 *   node scripts/bench/list-swap-server.mjs <dist dir> <settings json>
 *   settings: { port, upstreamPort, listUrl, dataDir }
 *   → {"ready":true,"port":N}                      once answering
 *   {"cmd":"refresh","force":false}  → {"result":{...},"loop":{maxMs,p99Ms,meanMs},"swap":{...},"wallMs":N}
 *
 * Exits when stdin closes.
 */
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [distDir, settingsJson] = process.argv.slice(2);
if (distDir === undefined || settingsJson === undefined) {
  process.stderr.write('usage: node list-swap-server.mjs <dist dir> <settings json>\n');
  process.exit(2);
}
const settings = JSON.parse(settingsJson);
const load = (path) => import(pathToFileURL(resolve(distDir, path)).href);

const { pino } = await import('pino');
const { validateConfig } = await load('config/load.js');
const { startPoolsink } = await load('main.js');
const { createListManager } = await load('blocklist/list-manager.js');
const { createListStore } = await load('store/list-store.js');
const { openStoreConnection } = await load('store/database.js');

const log = pino({ level: 'warn' }, pino.destination(2)); // stdout carries the JSON replies
const config = validateConfig(
  {
    dns: { listen: [`127.0.0.1:${settings.port}`], allowClients: ['127.0.0.0/8'] },
    upstreams: [`127.0.0.1:${settings.upstreamPort}`],
    blocklists: [],
    dataDir: settings.dataDir,
    admin: { listen: '127.0.0.1:0' },
    log: { level: 'warn' },
  },
  settings.dataDir,
  join(settings.dataDir, 'no-resolv.conf'),
);

let resolver;
const connection = openStoreConnection(join(settings.dataDir, 'lists.db'), { log });
const manager = createListManager({
  lists: [
    {
      name: 'bench-1m',
      source: settings.listUrl,
      format: 'domains',
      mode: 'block',
      refreshSec: 86_400,
      maxShrinkPercent: 50,
    },
  ],
  allowlist: [],
  baseDir: settings.dataDir,
  dataDir: settings.dataDir,
  store: createListStore(connection),
  log,
  onMatcher: (matcher) => resolver?.setMatcher(matcher),
  filePollMs: 0,
});
await manager.start();
const poolsink = await startPoolsink(config, { log });
resolver = poolsink.resolver;
resolver.setMatcher(manager.matcher);

/** GC pauses while a refresh runs: the part of a stall no time slicing can remove. */
const GC_KINDS = {
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
let gcPauses;
new PerformanceObserver((entries) => {
  if (gcPauses === undefined) return;
  for (const entry of entries.getEntries())
    gcPauses.push({ kind: GC_KINDS[entry.detail?.kind] ?? 'other', ms: entry.duration });
}).observe({ entryTypes: ['gc'] });

/**
 * The main thread's time on a CPU and waiting for one (runnable but not running: other processes
 * had the cores), ms, from /proc (Linux; undefined elsewhere). A large wait means the stalls
 * measured were the machine's, not poolsink's.
 */
function mainThreadSchedMs() {
  try {
    const [runNs, waitNs] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return { runMs: runNs / 1e6, waitMs: waitNs / 1e6 };
  } catch {
    return undefined; // no /proc: not reported
  }
}

const reply = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
reply({ ready: true, port: poolsink.udp[0]?.port });

const commands = createInterface({ input: process.stdin });
commands.on('line', async (line) => {
  const command = JSON.parse(line);
  if (command.cmd !== 'refresh') {
    reply({ error: `unknown command ${command.cmd}` });
    return;
  }
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  gcPauses = [];
  const schedBefore = mainThreadSchedMs();
  const startedAt = performance.now();
  const [result] = await manager.refresh('bench-1m', { force: command.force === true });
  const wallMs = performance.now() - startedAt;
  loop.disable();
  const schedAfter = mainThreadSchedMs();
  await new Promise((done) => setImmediate(done)); // let the observer deliver the last entries
  const pauses = gcPauses;
  gcPauses = undefined;
  const longest = pauses.reduce((a, b) => (b.ms > a.ms ? b : a), { kind: 'none', ms: 0 });
  reply({
    sched:
      schedBefore && schedAfter
        ? { runMs: schedAfter.runMs - schedBefore.runMs, waitMs: schedAfter.waitMs - schedBefore.waitMs }
        : undefined,
    gc: {
      count: pauses.length,
      totalMs: pauses.reduce((sum, p) => sum + p.ms, 0),
      longestMs: longest.ms,
      longestKind: longest.kind,
    },
    result,
    wallMs,
    loop: { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6, meanMs: loop.mean / 1e6 },
    swap: manager.status().lastSwap,
    rssBytes: process.memoryUsage().rss,
  });
});
commands.on('close', async () => {
  await manager.stop();
  await poolsink.close();
  connection.close();
  process.exit(0);
});
