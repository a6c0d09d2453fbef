/**
 * Independent DNS clients for integration tests: dig and kdig (real programs) and raw sockets.
 * Only loopback addresses are ever queried.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  answers: string[];
  authority: string[];
  ede: string | undefined;
  raw: string;
}

/** Runs dig against 127.0.0.1:port; `args` are extra dig arguments (name, type, +tcp, -b ...). */
export async function dig(port: number, args: readonly string[]): Promise<DigResult> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', ...args]);
  return parseDig(stdout);
}

export function parseDig(raw: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(raw)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([a-z ]+);/.exec(raw)?.[1] ?? '').trim().split(/\s+/);
  const section = (title: string): string[] => {
    const start = raw.indexOf(`;; ${title} SECTION:`);
    if (start < 0) return [];
    const lines = raw.slice(start).split('\n').slice(1);
    const out: string[] = [];
    for (const line of lines) {
      if (line.trim() === '') break;
      out.push(line.trim().replace(/\s+/g, ' '));
    }
    return out;
  };
  const ede = /EDE: ([^\n]+)/.exec(raw)?.[1];
  return { status, flags, answers: section('ANSWER'), authority: section('AUTHORITY'), ede, raw };
}

/** Sends raw bytes over UDP from `bindAddress` and resolves with the first reply (or undefined on timeout). */
export function udpExchange(
  port: number,
  packet: Buffer,
  options: { bindAddress?: string; timeoutMs?: number } = {},
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, options.timeoutMs ?? 15_000);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.bind(0, options.bindAddress ?? '127.0.0.1', () => socket.send(packet, port, '127.0.0.1'));
  });
}

/** Sends framed queries over one TCP connection and collects `expect` framed replies. */
export function tcpExchange(
  port: number,
  packets: readonly Buffer[],
  expect = packets.length,
  timeoutMs = 30_000,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const replies: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(replies);
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(
        Buffer.concat(packets.map((p) => Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p]))),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        replies.push(buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
      }
      if (replies.length >= expect) {
        clearTimeout(timer);
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
