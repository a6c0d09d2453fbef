/**
 * Child process for the 1,000,000-domain measurement: loads one list with poolsink's own built
 * modules, merges it into a matcher, and prints one JSON line with wall time and memory.
 * Run with --expose-gc so RSS is read after a full collection.
 *
 *   node --expose-gc scripts/bench/load-list.mjs <dist dir> <list file> <probe name>
 */
import { resolve, dirname, basename } from 'node:path';
import { pathToFileURL } from 'node:url';

const [distDir, listFile, probeName] = process.argv.slice(2);
if (distDir === undefined || listFile === undefined || probeName === undefined) {
  process.stderr.write('usage: node --expose-gc load-list.mjs <dist dir> <list file> <probe name>\n');
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') {
  process.stderr.write('load-list.mjs needs node --expose-gc\n');
  process.exit(2);
}

function settledRss() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage();
}

const { loadListFile } = await import(pathToFileURL(resolve(distDir, 'blocklist/list-source.js')).href);
const { createMatcher } = await import(pathToFileURL(resolve(distDir, 'blocklist/matcher.js')).href);

const before = settledRss();
const cpuBefore = process.cpuUsage();
const startedAt = performance.now();
let loaded = await loadListFile(
  { name: 'bench-1m', source: basename(listFile), format: 'domains', mode: 'block' },
  dirname(resolve(listFile)),
);
const loadedAt = performance.now();
const matcher = createMatcher(
  [{ name: loaded.name ?? 'bench-1m', mode: 'block', domains: loaded.domains, wildcards: loaded.wildcards }],
  [],
);
const builtAt = performance.now();
const cpu = process.cpuUsage(cpuBefore);
const summary = {
  entries: loaded.entries,
  skipped: loaded.skipped,
  domains: loaded.domains.length,
  wildcards: loaded.wildcards.length,
};
loaded = undefined; // what a server keeps is the matcher, not the parsed arrays
const after = settledRss();

const blockedProbe = matcher.match(`x.${probeName}`);
const allowedProbe = matcher.match('not-listed.example.test');

process.stdout.write(
  `${JSON.stringify({
    ...summary,
    matcherSize: matcher.size,
    loadMs: loadedAt - startedAt,
    matcherMs: builtAt - loadedAt,
    totalMs: builtAt - startedAt,
    cpuMs: (cpu.user + cpu.system) / 1e3,
    rssBeforeBytes: before.rss,
    rssAfterBytes: after.rss,
    addedRssBytes: after.rss - before.rss,
    addedHeapBytes: after.heapUsed - before.heapUsed,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    probeBlocked: blockedProbe.kind === 'block',
    probeAllowed: allowedProbe.kind === 'allow',
  })}\n`,
);
