/** Runs dnsperf pinned to a core and parses its summary. */
import { spawn, spawnSync } from 'node:child_process';

export function dnsperfAvailable() {
  const result = spawnSync('dnsperf', ['-h'], { encoding: 'utf8' });
  return result.error === undefined;
}

function numberAfter(text, label) {
  const match = new RegExp(`${label}:\\s+([0-9.]+)`).exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Parses dnsperf's "Statistics:" block. Missing fields come back undefined. */
export function parseDnsperfOutput(text) {
  const rcodes = {};
  const rcodeLine = /Response codes:\s+(.*)/.exec(text);
  if (rcodeLine?.[1]) {
    for (const match of rcodeLine[1].matchAll(/([A-Z]+) (\d+) \(/g)) rcodes[match[1]] = Number(match[2]);
  }
  const latency = /Average Latency \(s\):\s+([0-9.]+)/.exec(text);
  return {
    sent: numberAfter(text, 'Queries sent'),
    completed: numberAfter(text, 'Queries completed'),
    lost: numberAfter(text, 'Queries lost'),
    runTimeSec: numberAfter(text, 'Run time \\(s\\)'),
    qps: numberAfter(text, 'Queries per second'),
    avgLatencyMs: latency ? Number(latency[1]) * 1e3 : undefined,
    rcodes,
  };
}

/**
 * One dnsperf run. Options: port, file, seconds (-l), maxRuns (-n), qps (-Q, 0 = unlimited),
 * core (taskset -c), timeoutSec (-t), outstanding (-q), track (registers the child for cleanup).
 */
export function runDnsperf({ port, file, seconds, maxRuns, qps, core, timeoutSec = 1, outstanding = 500, track }) {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-c', '1', '-T', '1'];
  // -b: 4 MiB socket buffers, so answers are not dropped while dnsperf waits for its core.
  args.push('-t', String(timeoutSec), '-q', String(outstanding), '-b', '4096');
  if (seconds !== undefined) args.push('-l', String(seconds));
  if (maxRuns !== undefined) args.push('-n', String(maxRuns));
  if (qps > 0) args.push('-Q', String(qps));
  const command = core === undefined ? 'dnsperf' : 'taskset';
  const argv = core === undefined ? args : ['-c', String(core), 'dnsperf', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    track?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const parsed = parseDnsperfOutput(stdout);
      if (code !== 0 || parsed.completed === undefined) {
        reject(
          new Error(
            `${command} ${argv.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || stdout.trim()}`,
          ),
        );
        return;
      }
      resolve({ ...parsed, command: `${command} ${argv.join(' ')}` });
    });
  });
}
