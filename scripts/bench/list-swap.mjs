/**
 * How long DNS answers wait while a 1,000,000-domain list is refreshed and swapped in.
 *
 * Starts poolsink (dist/, with the list manager feeding its resolver: list-swap-server.mjs), a
 * local upstream, and a local HTTP server serving the list gzip-compressed with an ETag. Once the
 * first version is loaded, the server switches to a changed version (1% of names replaced) and a
 * refresh is triggered while this process sends UDP queries continuously (blocked names: answered
 * from the lists, so their latency is the event loop's stall; and cached names). Reported: the
 * worst and p99 answer latency during the refresh and during a quiet period before it, the
 * refresh's wall time (download + inflate + hash + parse + build + swap), and poolsink's own view
 * of its longest event-loop stall. All traffic stays on 127.0.0.1.
 *
 *   node scripts/bench/list-swap.mjs          (after npm run build)
 *   import { measureListSwap, formatListSwap } from './bench/list-swap.mjs'
 *
 * Target (issue 4): worst answer latency during the swap under 50 ms.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { firstJsonLine, startPinned, stopChild } from './children.mjs';
import { listDomain } from './data.mjs';
import { encodeQuery, readResponseHeader } from './dns-message.mjs';
import { findFreePort, waitUntilAnswering } from './probe.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const LIST_SWAP_TARGET_MS = 50;

const DEFAULTS = Object.freeze({
  distDir: join(ROOT, 'dist'),
  listSize: 1_000_000,
  /** Names replaced between the two versions. */
  changedShare: 0.01,
  /** Queries sent per millisecond tick. */
  queriesPerTick: 2,
  quietMs: 2000,
  afterSwapMs: 300,
  lostAfterMs: 2000,
  serverCore: undefined,
  clientCore: undefined,
  /** Extra node flags for the poolsink process (e.g. ['--trace-gc']). */
  serverNodeArgs: [],
  /** Where poolsink's stderr goes: undefined keeps the last 64 KiB in memory. */
  serverLogFd: undefined,
});

function listText(first, count) {
  const lines = new Array(count);
  for (let i = 0; i < count; i += 1) lines[i] = listDomain(first + i);
  return `${lines.join('\n')}\n`;
}

/** A one-route HTTP server: the current version of the list, gzip, with an ETag (304 when matched). */
async function startListServer() {
  let current = { etag: '"none"', gzipped: Buffer.alloc(0) };
  const server = createServer((req, res) => {
    if (req.headers['if-none-match'] === current.etag) {
      res.writeHead(304, { etag: current.etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', etag: current.etag, 'content-length': current.gzipped.length });
    res.end(current.gzipped);
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${server.address().port}/list.txt`,
    serve(etag, text) {
      current = { etag, gzipped: gzipSync(text, { level: 6 }) };
    },
    close: () => new Promise((done) => server.close(done)),
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Sends queries on a 1 ms timer from one UDP socket and records each answer's latency.
 * `window(name)` starts a measuring window; `stop()` resolves with per-window statistics.
 */
async function startQueryLoad(port, names, queriesPerTick, lostAfterMs) {
  const socket = createSocket('udp4');
  await new Promise((done) => socket.bind(0, '127.0.0.1', done));
  const pending = new Map();
  const windows = new Map();
  let currentWindow;
  let nextId = 0;
  let nameIndex = 0;
  socket.on('message', (message) => {
    const header = readResponseHeader(message);
    const sent = header && pending.get(header.id);
    if (sent === undefined) return;
    pending.delete(header.id);
    sent.window.latencies.push(performance.now() - sent.at);
    sent.window.rcodes[header.rcode] = (sent.window.rcodes[header.rcode] ?? 0) + 1;
  });
  const timer = setInterval(() => {
    if (currentWindow === undefined) return;
    for (let i = 0; i < queriesPerTick; i += 1) {
      nextId = (nextId + 1) & 0xffff;
      const old = pending.get(nextId);
      if (old !== undefined) old.window.lost += 1; // an ID not answered in 65,536 queries
      pending.set(nextId, { at: performance.now(), window: currentWindow });
      currentWindow.sent += 1;
      socket.send(encodeQuery(names[nameIndex], nextId), port, '127.0.0.1');
      nameIndex = (nameIndex + 1) % names.length;
    }
  }, 1);
  return {
    window(name) {
      currentWindow = { latencies: [], rcodes: {}, sent: 0, lost: 0, startedAt: performance.now() };
      windows.set(name, currentWindow);
    },
    async stop() {
      currentWindow = undefined;
      clearInterval(timer);
      await new Promise((done) => setTimeout(done, lostAfterMs));
      for (const sent of pending.values()) sent.window.lost += 1;
      socket.close();
      const stats = {};
      for (const [name, w] of windows) {
        const sorted = w.latencies.sort((a, b) => a - b);
        stats[name] = {
          sent: w.sent,
          answered: sorted.length,
          lost: w.lost,
          rcodes: w.rcodes,
          worstMs: sorted.at(-1),
          p99Ms: percentile(sorted, 99),
          p50Ms: percentile(sorted, 50),
        };
      }
      return stats;
    },
  };
}

function command(child, value) {
  const answer = firstJsonLine(child, 'list-swap server', 600_000);
  child.stdin.write(`${JSON.stringify(value)}\n`);
  return answer;
}

/**
 * Runs the whole measurement and resolves with its numbers. Options (all optional): distDir,
 * listSize, changedShare, queriesPerTick, quietMs, serverCore, clientCore (taskset pinning).
 */
export async function measureListSwap(options = {}) {
  const o = { ...DEFAULTS, ...options };
  if (!existsSync(join(o.distDir, 'blocklist', 'manager.js'))) {
    throw new Error(`${join(o.distDir, 'blocklist', 'manager.js')} not found: run \`npm run build\` first`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'poolsink-swap-'));
  const lists = await startListServer();
  let upstream;
  let server;
  try {
    const changed = Math.round(o.listSize * o.changedShare);
    lists.serve('"v1"', listText(0, o.listSize));

    upstream = startPinned([process.execPath, join(ROOT, 'scripts', 'bench', 'upstream.mjs')], { core: o.clientCore });
    const { port: upstreamPort } = await firstJsonLine(upstream, 'upstream');
    const port = await findFreePort();
    server = startPinned(
      [process.execPath, ...o.serverNodeArgs, join(ROOT, 'scripts', 'bench', 'list-swap-server.mjs'), o.distDir, JSON.stringify({ port, upstreamPort, listUrl: lists.url, dataDir })],
      { core: o.serverCore },
    );
    await firstJsonLine(server, 'list-swap server', 60_000);
    await waitUntilAnswering(port, { child: server, name: 'poolsink' });

    const first = await command(server, { cmd: 'refresh' });
    if (first.result?.outcome !== 'updated') throw new Error(`loading the first version failed: ${JSON.stringify(first.result)}`);

    // Blocked names present in both versions, and names in no list (cached after the first pass).
    const names = [];
    for (let i = 0; i < 500; i += 1) names.push(`x.${listDomain(changed + 1 + i * 1000)}`, `c${i}.cached-swap.test`);
    lists.serve('"v2"', listText(changed, o.listSize));

    const load = await startQueryLoad(port, names, o.queriesPerTick, o.lostAfterMs);
    load.window('warmup');
    await new Promise((done) => setTimeout(done, 500));
    load.window('quiet');
    await new Promise((done) => setTimeout(done, o.quietMs));
    load.window('swap');
    const swap = await command(server, { cmd: 'refresh' });
    await new Promise((done) => setTimeout(done, o.afterSwapMs));
    const windows = await load.stop();
    if (swap.result?.outcome !== 'updated') throw new Error(`the refresh did not update: ${JSON.stringify(swap.result)}`);

    return {
      listSize: o.listSize,
      changedNames: changed,
      firstLoad: { wallMs: first.wallMs, loopMaxMs: first.loop.maxMs, swap: first.swap },
      refresh: { wallMs: swap.wallMs, loopMaxMs: swap.loop.maxMs, loopP99Ms: swap.loop.p99Ms, gc: swap.gc, swap: swap.swap, result: swap.result },
      quiet: windows.quiet,
      duringSwap: windows.swap,
      rssBytes: swap.rssBytes,
      targetMs: LIST_SWAP_TARGET_MS,
      pass: windows.swap.lost === 0 && windows.swap.worstMs < LIST_SWAP_TARGET_MS,
    };
  } finally {
    if (server) {
      server.stdin.end();
      await stopChild(server);
    }
    if (upstream) await stopChild(upstream);
    await lists.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const ms = (value) => (value === undefined ? '-' : `${value.toFixed(1)} ms`);

export function formatListSwap(r) {
  const { quiet, duringSwap, refresh } = r;
  return [
    `list swap (${r.listSize.toLocaleString('en-US')} names, ${r.changedNames.toLocaleString('en-US')} changed, gzip over HTTP):`,
    `  refresh wall time      ${ms(refresh.wallMs)} (download, inflate, hash, parse, build, swap)`,
    `  build                  ${ms(refresh.swap?.durationMs)}, longest slice ${ms(refresh.swap?.maxSliceMs)}`,
    `  event loop (poolsink)  max delay ${ms(refresh.loopMaxMs)}, p99 ${ms(refresh.loopP99Ms)}`,
    `  GC during refresh      ${refresh.gc.count} pauses, ${ms(refresh.gc.totalMs)} in all, longest ${ms(refresh.gc.longestMs)} (${refresh.gc.longestKind})`,
    `  answers, quiet         ${quiet.answered}/${quiet.sent}, worst ${ms(quiet.worstMs)}, p99 ${ms(quiet.p99Ms)}, lost ${quiet.lost}`,
    `  answers, during swap   ${duringSwap.answered}/${duringSwap.sent}, worst ${ms(duringSwap.worstMs)}, p99 ${ms(duringSwap.p99Ms)}, lost ${duringSwap.lost}`,
    `  first load (cold)      ${ms(r.firstLoad.wallMs)}, event loop max ${ms(r.firstLoad.loopMaxMs)}`,
    `  poolsink RSS           ${(r.rssBytes / 1e6).toFixed(0)} MB`,
    `  worst answer during swap < ${r.targetMs} ms: ${r.pass ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await measureListSwap();
  process.stdout.write(`${formatListSwap(result)}\n${JSON.stringify(result)}\n`);
}
