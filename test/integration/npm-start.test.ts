/**
 * `npm start` (scripts/start.mjs): no rebuild when dist/ is newer than every source, and SIGTERM to
 * npm stops the server with no `node` left running behind it (the script runs `exec node`, and the
 * server runs inside that process, so npm's forwarded signal reaches it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { until } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'poolsink-npm-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Child processes of `pid`, from /proc (pid, state, command line). */
function childrenOf(pid: number): { pid: number; state: string; cmdline: string }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      found.push({ pid: Number(entry), state: fields[0] ?? '', cmdline });
    } catch {
      // the process ended while being read: not a child any more
    }
  }
  return found;
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('npm start serves without rebuilding, and SIGTERM to npm leaves no node behind', async () => {
  const config = join(dir, 'poolsink.yaml');
  writeFileSync(
    config,
    `dns:\n  listen: ["127.0.0.1:0"]\nupstreams: ["127.0.0.1:9"]\nadmin: { listen: "127.0.0.1:0" }\n` +
      `dataDir: ${dir}\nblocklists:\n  - name: pools\n    source: ${join(ROOT, 'blocklists', 'mining-pools.txt')}\n`,
  );
  expect(existsSync(join(ROOT, 'dist', 'cli.js'))).toBe(true); // built by test/global-setup.ts
  const npm = spawn('npm', ['start', '--', '--config', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  npm.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  await until(() => stdout.includes('"msg":"poolsink started') || npm.exitCode !== null, 90_000);
  expect(stdout).toContain('"msg":"poolsink started');
  expect(stderr).not.toContain('building dist/');

  const npmPid = npm.pid ?? 0;
  const [server] = childrenOf(npmPid);
  expect(server?.cmdline).toMatch(/^node scripts\/start\.mjs /); // exec: node replaced the shell
  npm.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stdout).toContain('"msg":"poolsink stopped"');
  expect(running(server?.pid ?? 0)).toBe(false);
});
