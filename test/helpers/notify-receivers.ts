/**
 * Real receivers for notification tests on 127.0.0.1: an HTTP server that records each POST (raw
 * body and headers), and syslog listeners over UDP and TCP (RFC 6587 octet counting).
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';

export interface HttpPost {
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
  /** The status it was answered with. */
  readonly status: number;
}

export interface HttpReceiver {
  readonly url: string;
  readonly port: number;
  readonly posts: HttpPost[];
  /** Answers later POSTs with `status` (500: a receiver that is up but failing). */
  answerWith(status: number): void;
  /** Resolves with the first POST (already received or later) that `match` accepts. */
  next(match: (post: HttpPost) => boolean): Promise<HttpPost>;
  close(): Promise<void>;
}

function portOf(address: string | { port: number } | null): number {
  if (address === null || typeof address === 'string') throw new Error('not listening on a TCP port');
  return address.port;
}

/** `status` is what every POST is answered with (default 200). */
export async function startHttpReceiver(port = 0, status = 200): Promise<HttpReceiver> {
  const posts: HttpPost[] = [];
  const waiters = new Set<{ match: (post: HttpPost) => boolean; resolve: (post: HttpPost) => void }>();
  let answer = status;
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const post = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, status: answer };
      posts.push(post);
      res.writeHead(post.status).end('ok');
      for (const waiter of waiters) {
        if (!waiter.match(post)) continue;
        waiters.delete(waiter);
        waiter.resolve(post);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = portOf(server.address());
  return {
    url: `http://127.0.0.1:${bound}/hook`,
    port: bound,
    posts,
    answerWith(next) {
      answer = next;
    },
    next(match) {
      const seen = posts.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.add({ match, resolve }));
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SyslogReceiver {
  readonly port: number;
  readonly lines: string[];
  close(): Promise<void>;
}

export async function startUdpSyslog(): Promise<SyslogReceiver> {
  const lines: string[] = [];
  const socket = createSocket('udp4');
  socket.on('message', (msg) => lines.push(msg.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, lines, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** Parses RFC 6587 octet-counted frames: `LEN SP MSG`, the length in bytes. */
export function parseOctetFrames(buffer: Buffer): { frames: string[]; rest: Buffer } {
  const frames: string[] = [];
  let offset = 0;
  for (;;) {
    const space = buffer.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number(buffer.subarray(offset, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= 0) throw new Error('bad octet count');
    if (buffer.length < space + 1 + length) break;
    frames.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
    offset = space + 1 + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

export async function startTcpSyslog(): Promise<SyslogReceiver> {
  const lines: string[] = [];
  const server = createTcpServer((socket) => {
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const { frames, rest } = parseOctetFrames(Buffer.concat([pending, chunk]));
      lines.push(...frames);
      pending = rest;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: portOf(server.address()),
    lines,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The parts of an RFC 5424 line: PRI, VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID, SD, MSG. */
export function parseSyslogLine(line: string): {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  app: string;
  procId: string;
  msgId: string;
  sd: string;
  msg: string;
} {
  const match = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[(?:[^\]\\]|\\.)*\]) (.*)$/s.exec(line);
  if (match === null) throw new Error(`not RFC 5424: ${line}`);
  return {
    pri: Number(match[1]),
    version: Number(match[2]),
    timestamp: match[3] ?? '',
    hostname: match[4] ?? '',
    app: match[5] ?? '',
    procId: match[6] ?? '',
    msgId: match[7] ?? '',
    sd: match[8] ?? '',
    msg: match[9] ?? '',
  };
}
