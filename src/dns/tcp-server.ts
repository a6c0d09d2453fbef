/**
 * One TCP listener per RFC 7766: 2-byte length framing, pipelined queries answered as they
 * complete (in any order), an idle timeout, and caps on connections in total and per client.
 * Memory per connection is bounded: at most one partial frame is buffered, and reading pauses
 * while too many of its queries are outstanding.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import type { Resolver, Transport } from './resolver.js';

const MAX_OUTSTANDING_PER_CONNECTION = 64;

export interface TcpLimits {
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
}

export interface TcpCounters {
  accepted: number;
  rejected: number;
  idleClosed: number;
  badFrames: number;
}

export interface TcpListener {
  readonly protocol: 'tcp';
  readonly address: HostPort;
  readonly connections: number;
  readonly counters: Readonly<TcpCounters>;
  stopAccepting(): void;
  close(): Promise<void>;
}

export async function startTcpListener(options: {
  listen: HostPort;
  resolver: Resolver;
  log: Logger;
  limits: TcpLimits;
}): Promise<TcpListener> {
  const { listen, resolver, log, limits } = options;
  const sockets = new Set<Socket>();
  const perClient = new Map<string, number>();
  const counters: TcpCounters = { accepted: 0, rejected: 0, idleClosed: 0, badFrames: 0 };
  let accepting = true;

  function release(clientIp: string): void {
    const n = (perClient.get(clientIp) ?? 1) - 1;
    if (n <= 0) perClient.delete(clientIp);
    else perClient.set(clientIp, n);
  }

  function onConnection(socket: Socket): void {
    const clientIp = socket.remoteAddress ?? '';
    const clientPort = socket.remotePort ?? 0;
    const fromClient = perClient.get(clientIp) ?? 0;
    if (!accepting || sockets.size >= limits.maxConnections || fromClient >= limits.maxConnectionsPerClient) {
      counters.rejected++;
      socket.destroy();
      return;
    }
    counters.accepted++;
    sockets.add(socket);
    perClient.set(clientIp, fromClient + 1);
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs);

    let pending: Buffer | undefined; // bytes of an incomplete frame
    let outstanding = 0;
    let peerEnded = false;

    function settle(): void {
      outstanding--;
      if (socket.isPaused() && outstanding < MAX_OUTSTANDING_PER_CONNECTION) socket.resume();
      if (peerEnded && outstanding === 0) socket.end();
    }

    const transport: Transport = {
      protocol: 'tcp',
      send(response) {
        if (!socket.destroyed && socket.writable) {
          const framed = Buffer.allocUnsafe(response.length + 2);
          framed.writeUInt16BE(response.length, 0);
          response.copy(framed, 2);
          socket.write(framed);
        }
        settle();
      },
      drop() {
        settle();
      },
    };

    socket.on('data', (chunk: Buffer) => {
      const data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      let pos = 0;
      while (data.length - pos >= 2) {
        const len = data.readUInt16BE(pos);
        if (len === 0) {
          counters.badFrames++;
          socket.destroy();
          return;
        }
        if (data.length - pos - 2 < len) break;
        // A copy: the resolver may keep the query while it waits for an upstream.
        const query = Buffer.from(data.subarray(pos + 2, pos + 2 + len));
        pos += 2 + len;
        outstanding++;
        resolver.handle(query, clientIp, clientPort, transport);
        if (socket.destroyed) return;
      }
      if (pos < data.length) pending = Buffer.from(data.subarray(pos));
      if (outstanding >= MAX_OUTSTANDING_PER_CONNECTION) socket.pause();
    });
    socket.on('end', () => {
      peerEnded = true;
      if (outstanding === 0) socket.end();
    });
    socket.on('timeout', () => {
      counters.idleClosed++;
      socket.destroy();
    });
    socket.on('error', (err) => log.debug({ err, client: clientIp }, 'tcp connection error'));
    socket.on('close', () => {
      sockets.delete(socket);
      release(clientIp);
    });
  }

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new PoolsinkError('ERR_LISTEN', `cannot listen on tcp ${formatHostPort(listen)}: ${errorMessage(err)}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen({ port: listen.port, host: listen.host, ipv6Only: listen.family === 6, backlog: 511 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.warn({ err, listen: formatHostPort(listen) }, 'tcp server error'));
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : listen.port;

  return {
    protocol: 'tcp',
    address: { host: listen.host, port, family: listen.family },
    get connections() {
      return sockets.size;
    },
    counters,
    stopAccepting() {
      accepting = false;
      server.close();
      for (const socket of sockets) socket.pause();
    },
    close() {
      accepting = false;
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => {
        if (!server.listening) resolve();
        else server.close(() => resolve());
      });
    },
  };
}
