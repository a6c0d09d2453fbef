/**
 * Starts poolsink (from dist/) and a local upstream as child processes on 127.0.0.1, for the fuzz
 * script and the soak bench. Children are tracked by scripts/bench/children.mjs, so none outlives
 * the script that started it. Nothing here sends traffic anywhere but loopback.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstJsonLine, startPinned } from '../bench/children.mjs';
import { findFreePort, waitUntilAnswering } from '../bench/probe.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');

export function distBuilt() {
  return existsSync(join(DIST, 'cli.js'));
}

/** poolsink must see only its config file: POOLSINK_* variables would override it. */
function envWithoutPoolsinkOverrides() {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('POOLSINK_')));
}

export function fileTail(path, bytes = 4000) {
  try {
    return readFileSync(path, 'utf8').slice(-bytes);
  } catch {
    return ''; // nothing written yet
  }
}

/** scripts/bench/upstream.mjs: answers every A query with 127.0.0.2 (TTL `ttlSec`), others NOERROR empty. */
export async function startUpstreamProcess({ core, ttlSec = 300 } = {}) {
  const child = startPinned(
    [process.execPath, join(ROOT, 'scripts', 'bench', 'upstream.mjs'), '--ttl', String(ttlSec)],
    { core },
  );
  const { port } = await firstJsonLine(child, 'upstream');
  return { child, pid: child.pid, port };
}

/**
 * Writes a config into `dir` and starts `node dist/cli.js serve` on a free port. Options: listFile
 * (a `domains` list), upstreamPort, cacheMaxEntries (100000), logLevel (warn), core (taskset),
 * dnsYaml (extra lines under `dns:`, indented by the caller, e.g. a rate limit for load tests).
 */
export async function startPoolsinkProcess({
  dir,
  listFile,
  upstreamPort,
  cacheMaxEntries = 100_000,
  logLevel = 'warn',
  core,
  dnsYaml = [],
  nodeArgs = [],
}) {
  const port = await findFreePort();
  const configFile = join(dir, 'poolsink.yaml');
  writeFileSync(
    configFile,
    [
      'dns:',
      `  listen: ["127.0.0.1:${port}"]`,
      '  allowClients: ["127.0.0.0/8"]',
      ...dnsYaml,
      `upstreams: ["127.0.0.1:${upstreamPort}"]`,
      'blocklists:',
      `  - { name: fuzz, source: ${JSON.stringify(listFile)}, format: domains }`,
      `cache: { maxEntries: ${cacheMaxEntries}, minTtlSec: 0, maxTtlSec: 86400, serveStaleSec: 86400 }`,
      `log: { level: ${logLevel} }`,
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'poolsink.log');
  const logFd = openSync(logFile, 'w');
  const startedAt = performance.now();
  const child = startPinned([process.execPath, ...nodeArgs, join(DIST, 'cli.js'), 'serve', '--config', configFile], {
    core,
    cwd: dir,
    env: envWithoutPoolsinkOverrides(),
    logFd,
  });
  closeSync(logFd);
  await waitUntilAnswering(port, { child, name: 'poolsink', outputTail: () => fileTail(logFile) });
  return { child, pid: child.pid, port, configFile, logFile, readyMs: performance.now() - startedAt };
}

/** True while the child has not exited. */
export function isRunning(child) {
  return child.exitCode === null && child.signalCode === null;
}
