/**
 * The admin HTTP server (node:http): routing, the bearer token check, parameter names, errors as
 * JSON by the status table, request timeouts and a bounded number of connections, in total and per
 * client address. Every request's Host must be an IP literal, localhost or one of `hostnames` (DNS
 * rebinding). Every route except /healthz (and /metrics with metricsAuth false) needs the token,
 * checked before anything else, so an unauthenticated client learns nothing about which paths
 * exist; wrong tokens are logged at most once per interval per address (failed-auth-log.ts). The
 * dashboard's static files (`assets`) are the exception: they hold no data and need no token.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import { formatHostPort, isLoopbackAddress, type HostPort } from '../net/address.js';
import { createBearerCheck } from './auth.js';
import { limitConnectionsPerClient } from './client-connections.js';
import { DEFAULT_FAILED_AUTH_LOG, createFailedAuthLog } from './failed-auth-log.js';
import { createHostCheck } from './host-check.js';
import { HttpError, InvalidParameterError, toErrorReply } from './http-errors.js';
import { readJsonBody, sendJson, sendReply } from './http-io.js';
import { checkParamNames, queryParamNames } from './query.js';
import { createRouter, type RouteMatch } from './router.js';
import { createRoutes, type AdminDeps, type Route } from './routes.js';
import type { StaticAssets } from './static-assets.js';

export interface AdminLimits {
  /** JSON bodies larger than this get 413. */
  readonly maxBodyBytes: number;
  /** Time to receive the request headers (at most requestTimeoutMs). */
  readonly headersTimeoutMs: number;
  /** Time to receive the whole request. */
  readonly requestTimeoutMs: number;
  /** A connection idle this long (a stalled export reader too) is closed. */
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  /** Connections from one address; more are closed at once. */
  readonly maxConnectionsPerClient: number;
  /** Wrong-token warnings: one line per address per this interval at most, with a count. */
  readonly failedAuthLogIntervalMs: number;
  /** How long close() lets requests in flight finish before cutting them. */
  readonly closeGraceMs: number;
}

export const DEFAULT_ADMIN_LIMITS: AdminLimits = {
  maxBodyBytes: 64 * 1024,
  headersTimeoutMs: 2_000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxConnections: 64,
  maxConnectionsPerClient: 16,
  failedAuthLogIntervalMs: DEFAULT_FAILED_AUTH_LOG.intervalMs,
  closeGraceMs: 2_000,
};

export interface AdminServerOptions {
  readonly listen: Pick<HostPort, 'host' | 'port'>;
  /** From resolveAdminToken(). */
  readonly token: string;
  readonly log: Logger;
  /** `admin.metricsAuth`; default true. */
  readonly metricsAuth?: boolean;
  /** `admin.hostnames`: names accepted in Host besides IP literals and localhost. */
  readonly hostnames?: readonly string[];
  readonly deps: AdminDeps;
  readonly limits?: Partial<AdminLimits>;
  /** The dashboard's files (static-assets.ts), served at / and /assets/* without the token. */
  readonly assets?: StaticAssets;
}

export interface AdminServer {
  /** The bound address (the real port when listening on port 0). */
  readonly address: HostPort;
  /** Requires `token` from the next request on; the previous one stops working at once (reload, rotation). */
  setToken(token: string): void;
  /** Stops accepting, lets requests in flight finish (bounded), closes every connection. */
  close(): Promise<void>;
}

const MUTATING = new Set(['POST', 'PATCH', 'DELETE']);
const MAX_PATH_IN_MESSAGE = 200;

function shown(path: string): string {
  return path.length > MAX_PATH_IN_MESSAGE ? `${path.slice(0, MAX_PATH_IN_MESSAGE)}...` : path;
}

/** Origin-form targets only ("/path?query"); anything else (absolute-form, "*") matches no route. */
function requestUrl(target: string): URL {
  try {
    return new URL(target.startsWith('/') ? `http://admin.invalid${target}` : 'http://admin.invalid/.invalid');
  } catch {
    throw new InvalidParameterError('url', 'is not a valid request target');
  }
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { log, deps } = options;
  const limits: AdminLimits = { ...DEFAULT_ADMIN_LIMITS, ...options.limits };
  const metricsAuth = options.metricsAuth ?? true;
  const clock = deps.clock ?? Date.now;
  const router = createRouter(createRoutes(deps, { metricsAuth }));
  // Replaced whole by setToken: a request checks against one token, at no extra cost per request.
  let isAuthorized = createBearerCheck(options.token);
  const isAcceptedHost = createHostCheck(options.hostnames ?? []);
  const failedAuth = createFailedAuthLog({
    log,
    intervalMs: limits.failedAuthLogIntervalMs,
    maxSources: DEFAULT_FAILED_AUTH_LOG.maxSources,
  });

  function needsToken(match: RouteMatch<Route>): boolean {
    const open = (route: Route): boolean => route.auth === 'none' || (route.auth === 'metrics' && !metricsAuth);
    if (match.kind === 'match') return !open(match.route);
    if (match.kind === 'method-not-allowed') return !match.routes.every(open);
    return true;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = request.method ?? '';
    const client = request.socket.remoteAddress;
    let path = '';
    try {
      if (!isAcceptedHost(request.headers.host, request.httpVersionMinor)) throw new HttpError('ERR_MISDIRECTED');
      const url = requestUrl(request.url ?? '');
      path = url.pathname;
      const asset = method === 'GET' || method === 'HEAD' ? options.assets?.get(path) : undefined;
      if (asset !== undefined) {
        response.writeHead(200, asset.headers);
        response.end(method === 'HEAD' ? undefined : asset.body);
        return;
      }
      const match = router.match(method, path);
      if (needsToken(match) && !isAuthorized(request.headers.authorization)) {
        const given = request.headers.authorization !== undefined;
        if (given) failedAuth.record(client ?? '', method, shown(path));
        const challenge = given ? 'Bearer realm="poolsink", error="invalid_token"' : 'Bearer realm="poolsink"';
        throw new HttpError('ERR_UNAUTHORIZED', undefined, { 'www-authenticate': challenge });
      }
      if (match.kind === 'not-found') throw new PoolsinkError('ERR_NOT_FOUND', `no route ${shown(path)}`);
      if (match.kind === 'method-not-allowed') {
        throw new HttpError('ERR_METHOD_NOT_ALLOWED', `${shown(method)} is not allowed on ${shown(path)}`, {
          allow: match.allow.join(', '),
        });
      }
      checkParamNames(url.searchParams, queryParamNames(match.route.query));
      if (deps.refresh !== undefined) await deps.refresh();
      const reply = await match.route.handle({
        params: match.decodeParams(),
        query: url.searchParams,
        nowMs: clock(),
        body: () => readJsonBody(request, limits.maxBodyBytes),
      });
      if (deps.settle !== undefined && MUTATING.has(method)) await deps.settle();
      await sendReply(response, reply, log);
      if (MUTATING.has(method))
        log.info({ client, method, path: shown(path), status: response.statusCode }, 'admin change');
    } catch (err: unknown) {
      const error = toErrorReply(err, log, { method, path: shown(path) });
      if (response.headersSent) response.destroy();
      else sendJson(response, error.status, error.body, error.headers);
    }
    if (log.isLevelEnabled('debug')) {
      log.debug(
        { client, method, path: shown(path), status: response.statusCode, ms: Math.round(performance.now() - started) },
        'admin request',
      );
    }
  }

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: Math.min(5_000, limits.idleTimeoutMs),
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (request, response) => {
      handle(request, response).catch((err: unknown) => {
        // Only reachable if writing the error response itself failed.
        log.error({ err }, 'admin request handling failed');
        response.destroy();
      });
    },
  );
  server.setTimeout(limits.idleTimeoutMs);
  server.maxConnections = limits.maxConnections;
  limitConnectionsPerClient(server, limits.maxConnectionsPerClient);

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      failedAuth.close();
      reject(
        new PoolsinkError(
          'ERR_LISTEN',
          `admin API could not listen on ${formatHostPort(options.listen)}: ${errorMessage(err)}`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen({ host: options.listen.host, port: options.listen.port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'admin server error'));

  const bound = server.address();
  if (bound === null || typeof bound === 'string')
    throw new PoolsinkError('ERR_LISTEN', 'admin API is not bound to a TCP address');
  const address: HostPort = { host: bound.address, port: bound.port, family: bound.family === 'IPv6' ? 6 : 4 };
  log.info({ listen: formatHostPort(address), metricsAuth }, 'admin API listening');
  if (!isLoopbackAddress(address.host))
    log.warn(
      { listen: formatHostPort(address) },
      'admin API listens beyond loopback over plain HTTP: whoever can reach it sees the bearer token and the ' +
        "block log in clear; keep it on loopback (in a container, publish it on the host's loopback only) " +
        'or put a TLS proxy in front',
    );

  let closing: Promise<void> | undefined;
  return {
    address,
    setToken(token) {
      isAuthorized = createBearerCheck(token);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), limits.closeGraceMs);
        server.close(() => {
          clearTimeout(cut);
          failedAuth.close();
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
