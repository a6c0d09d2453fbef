/**
 * Child processes of the bench: started pinned to a core, tracked, and always ended. Normal runs
 * call stopAll(); SIGINT/SIGTERM/uncaught errors and process exit end whatever is left, so no
 * server outlives the bench.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const live = new Set();
let handlersInstalled = false;
let interrupted = false;

/** True once a signal asked the bench to stop: errors from the children it killed are expected. */
export function wasInterrupted() {
  return interrupted;
}

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      interrupted = true;
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** Registers a child for cleanup (used for short-lived dnsperf runs too). */
export function track(child) {
  installHandlers();
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

/** Ends one child: SIGTERM, then SIGKILL after graceMs. Resolves once it has exited. */
export function stopChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function stopAll() {
  return Promise.all([...live].map((child) => stopChild(child)));
}

/**
 * Spawns `argv` under `taskset -c core` (taskset execs, so child.pid is the program's own pid and
 * every thread it starts inherits the affinity). stdin is a pipe, so our helper scripts exit on
 * their own if the bench dies without cleaning up. With `logFd`, stdout and stderr go to that file
 * (the bench then never spends CPU reading them); otherwise stdout is a pipe and the last 64 KiB
 * of stderr is kept in `child.stderrTail` for error reports.
 */
export function startPinned(argv, { core, cwd, env, logFd } = {}) {
  const [command, ...args] = core === undefined ? argv : ['taskset', '-c', String(core), ...argv];
  const stdio = logFd === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', logFd, logFd];
  const child = track(spawn(command, args, { cwd, env, stdio }));
  child.stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk) => {
    child.stderrTail = (child.stderrTail + chunk).slice(-65536);
  });
  child.on('error', (err) => {
    child.spawnError = err;
  });
  return child;
}

/** Resolves with the first stdout line parsed as JSON (our helper scripts announce their port). */
export function firstJsonLine(child, name, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
    function fail(err) {
      clearTimeout(timer);
      lines.close();
      reject(err);
    }
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      child.stdout.resume(); // keep draining so the child never blocks on a full pipe
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`${name} printed ${JSON.stringify(line)} instead of its address`));
      }
    });
    child.once('exit', (code, signal) => {
      fail(new Error(`${name} exited (${signal ?? `code ${code}`}) before starting: ${child.stderrTail.trim()}`));
    });
    child.once('error', (err) => fail(new Error(`${name} could not be started: ${err.message}`)));
  });
}
