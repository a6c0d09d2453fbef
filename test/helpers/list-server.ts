/**
 * A local HTTP server for list-fetching tests, on 127.0.0.1 port 0: each path serves what the test
 * set for it (a body with ETag/Last-Modified and 304s for conditional requests, an error status,
 * a body that stalls or trickles, gzip, redirects). Every request is recorded. close() ends stalled
 * responses too.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface ListRoute {
  status?: number;
  body?: string | Buffer;
  /** Sent as ETag; a request with a matching If-None-Match gets 304. */
  etag?: string;
  /** Sent as Last-Modified; a request with the same If-Modified-Since gets 304. */
  lastModified?: string;
  /** Compress the body and say so with Content-Encoding: gzip. */
  gzip?: boolean;
  /** Extra or overriding response headers. */
  headers?: Record<string, string>;
  /** Send this many bytes of the body, then nothing more (the connection stays open). */
  stallAfterBytes?: number;
  /** Wait this long before sending the response headers. */
  headersDelayMs?: number;
  /** Send the body in pieces of this many bytes, one every trickleMs. */
  trickleBytes?: number;
  trickleMs?: number;
  /** Answer 302 to this location. */
  redirectTo?: string;
}

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface ListServer {
  readonly port: number;
  url(path: string): string;
  set(path: string, route: ListRoute): void;
  readonly requests: RecordedRequest[];
  /** Requests to one path. */
  requestsTo(path: string): RecordedRequest[];
  close(): Promise<void>;
}

function sendBody(res: ServerResponse, body: Buffer, route: ListRoute, timers: Set<NodeJS.Timeout>): void {
  if (route.stallAfterBytes !== undefined) {
    res.write(body.subarray(0, route.stallAfterBytes));
    return; // never ends: the client's body timeout must fire
  }
  const piece = route.trickleBytes;
  if (piece === undefined) {
    res.end(body);
    return;
  }
  let offset = 0;
  const next = (): void => {
    if (res.destroyed) return;
    if (offset >= body.length) {
      res.end();
      return;
    }
    res.write(body.subarray(offset, offset + piece));
    offset += piece;
    const timer = setTimeout(() => {
      timers.delete(timer);
      next();
    }, route.trickleMs ?? 10);
    timers.add(timer);
  };
  next();
}

export async function startListServer(): Promise<ListServer> {
  const routes = new Map<string, ListRoute>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ path, headers: req.headers });
    const route = routes.get(path);
    if (route === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    const respond = (): void => {
      if (route.redirectTo !== undefined) {
        res.writeHead(302, { location: route.redirectTo }).end();
        return;
      }
      const status = route.status ?? 200;
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
      if (route.etag !== undefined) headers['etag'] = route.etag;
      if (route.lastModified !== undefined) headers['last-modified'] = route.lastModified;
      const notModified =
        status === 200 &&
        ((route.etag !== undefined && req.headers['if-none-match'] === route.etag) ||
          (route.etag === undefined &&
            route.lastModified !== undefined &&
            req.headers['if-modified-since'] === route.lastModified));
      if (notModified) {
        res.writeHead(304, headers).end();
        return;
      }
      let body = typeof route.body === 'string' ? Buffer.from(route.body) : (route.body ?? Buffer.alloc(0));
      if (route.gzip === true) {
        body = gzipSync(body);
        headers['content-encoding'] = 'gzip';
      }
      const streamed = route.stallAfterBytes !== undefined || route.trickleBytes !== undefined;
      if (!streamed) headers['content-length'] = String(body.length);
      res.writeHead(status, { ...headers, ...route.headers });
      sendBody(res, body, route, timers);
    };
    if (route.headersDelayMs !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        respond();
      }, route.headersDelayMs);
      timers.add(timer);
    } else {
      respond();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    set: (path, route) => routes.set(path, route),
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
