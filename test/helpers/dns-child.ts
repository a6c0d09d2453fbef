/**
 * A DNS server run as a child process for interop tests (named, unbound): started in the
 * foreground, ready once it answers a probe query over UDP, stopped with SIGTERM (SIGKILL if it
 * lingers) and awaited. Its output is kept for the failure message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { udpExchange } from './clients.js';
import { encodeQuery } from './packets.js';

export interface DnsChild {
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/** True when `program` is on PATH (interop tests skip without it; CI installs it). */
export function hasProgram(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
}

export async function startDnsChild(
  command: string,
  args: string[],
  port: number,
  probeName: string,
): Promise<DnsChild> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(killer);
  };
  // Ready when it answers: each probe waits for its reply (or its own timeout), no fixed sleeps.
  for (let attempt = 0; attempt < 60 && !exited; attempt++) {
    const reply = await udpExchange(port, encodeQuery(probeName, { id: attempt }), { timeoutMs: 500 });
    if (reply !== undefined) return { port, output: () => output, stop };
  }
  await stop();
  throw new Error(`${command} did not start on port ${port}:\n${output}`);
}
