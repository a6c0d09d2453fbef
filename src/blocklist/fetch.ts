/**
 * Downloads list sources over HTTP(S) with undici, on a dispatcher of its own (never the global
 * one): connect, headers, body-idle and whole-fetch timeouts, a bounded number of redirects, a
 * size cap enforced while the body streams in and again while gzip is inflated (zip bombs), and
 * conditional requests, so an unchanged list costs a 304 and no parsing. Destinations are checked
 * at connect time (fetch-destination.ts): private, loopback and link-local addresses are refused
 * unless allowPrivateSources names them, on every hop; redirects are followed here, hop by hop,
 * and never from https to http.
 *
 * Every failure is a PoolsinkError ERR_LIST_FETCH whose message says what went wrong in words an
 * operator can act on ("HTTP 500", "no response headers within 30000 ms", ...).
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
import { PoolsinkError, errorMessage } from '../errors.js';
import {
  DESTINATION_REFUSED,
  createDestinationPolicy,
  guardedConnector,
  redirectRefusal,
} from './fetch-destination.js';

const gunzipAsync = promisify(gunzip);

export interface FetchOptions {
  /** TCP (and TLS) connection set-up. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** From request sent to response headers received. Default 30 s. */
  readonly headersTimeoutMs?: number;
  /** Longest silence while the body streams in. Default 30 s. */
  readonly bodyTimeoutMs?: number;
  /** The whole fetch, redirects included: catches a body that trickles in forever. Default 300 s. */
  readonly totalTimeoutMs?: number;
  /** Largest body, as sent and once inflated. Default 50 MiB. */
  readonly maxBytes?: number;
  /** Redirects followed before giving up. Default 5. */
  readonly maxRedirects?: number;
  readonly userAgent?: string;
  /** CIDRs (resolved address) or hostnames (URL host) that may be private; `lists.allowPrivateSources`. Default []. */
  readonly allowPrivateSources?: readonly string[];
}

export interface FetchCall {
  /** A source from the configuration file: its destination is not checked (the operator chose it). Default false. */
  readonly trustedSource?: boolean;
}

/** What the copy we hold was served with; sent back as If-None-Match / If-Modified-Since. */
export interface Validators {
  readonly etag?: string;
  readonly lastModified?: string;
}

export type FetchResult =
  /** 304: the copy we hold is current. */
  | { readonly kind: 'not-modified' }
  /** 200: the body, inflated if it came gzip-compressed, with the validators to send next time. */
  | { readonly kind: 'content'; readonly body: Buffer; readonly validators: Validators };

export interface ListFetcher {
  /** Throws ERR_LIST_FETCH. */
  fetch(url: string, validators: Validators, call?: FetchCall): Promise<FetchResult>;
  /** Aborts fetches in progress and closes connections. */
  close(): Promise<void>;
}

export const DEFAULT_FETCH_OPTIONS = Object.freeze({
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  totalTimeoutMs: 300_000,
  maxBytes: 50 * 1024 * 1024,
  maxRedirects: 5,
  userAgent: 'poolsink',
});

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

function positiveInteger(value: number | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new PoolsinkError(
      'ERR_INVALID',
      `list fetch option ${name} must be an integer of at least ${min} (got ${value})`,
    );
  }
  return value;
}

function fetchError(url: string, problem: string, cause?: unknown): PoolsinkError {
  return new PoolsinkError('ERR_LIST_FETCH', `${url}: ${problem}`, cause === undefined ? undefined : { cause });
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

function undiciCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** A transport failure in words; `timeouts` supplies the configured values for the message. */
function describeFailure(err: unknown, timeouts: Required<Omit<FetchOptions, 'allowPrivateSources'>>): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `not complete within ${timeouts.totalTimeoutMs} ms`;
  switch (undiciCode(err)) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `no connection within ${timeouts.connectTimeoutMs} ms`;
    case 'UND_ERR_HEADERS_TIMEOUT':
      return `no response headers within ${timeouts.headersTimeoutMs} ms`;
    case 'UND_ERR_BODY_TIMEOUT':
      return `body stalled for ${timeouts.bodyTimeoutMs} ms`;
    case 'UND_ERR_ABORTED':
      return 'aborted';
    case DESTINATION_REFUSED:
      return errorMessage(err);
    default:
      return errorMessage(err);
  }
}

/** Drops a body unread (the connection goes with it). */
async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  await body.dump({ limit: 1 });
}

/** Reads the body, failing as soon as it passes maxBytes rather than after. */
async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    if (!Buffer.isBuffer(chunk)) throw fetchError(url, 'the body is not bytes'); // undici yields Buffers
    total += chunk.length;
    if (total > maxBytes) {
      body.destroy();
      throw fetchError(url, `body larger than ${mib(maxBytes)}`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Inflates on a worker thread, stopping at maxBytes of output. */
async function inflate(raw: Buffer, maxBytes: number, url: string): Promise<Buffer> {
  try {
    return await gunzipAsync(raw, { maxOutputLength: maxBytes });
  } catch (err: unknown) {
    if (undiciCode(err) === 'ERR_BUFFER_TOO_LARGE')
      throw fetchError(url, `body larger than ${mib(maxBytes)} once inflated`, err);
    throw fetchError(url, `gzip body could not be inflated: ${errorMessage(err)}`, err);
  }
}

function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

export function createListFetcher(options: FetchOptions = {}): ListFetcher {
  const settings: Required<Omit<FetchOptions, 'allowPrivateSources'>> = {
    connectTimeoutMs: positiveInteger(
      options.connectTimeoutMs,
      'connectTimeoutMs',
      DEFAULT_FETCH_OPTIONS.connectTimeoutMs,
      1,
    ),
    headersTimeoutMs: positiveInteger(
      options.headersTimeoutMs,
      'headersTimeoutMs',
      DEFAULT_FETCH_OPTIONS.headersTimeoutMs,
      1,
    ),
    bodyTimeoutMs: positiveInteger(options.bodyTimeoutMs, 'bodyTimeoutMs', DEFAULT_FETCH_OPTIONS.bodyTimeoutMs, 1),
    totalTimeoutMs: positiveInteger(options.totalTimeoutMs, 'totalTimeoutMs', DEFAULT_FETCH_OPTIONS.totalTimeoutMs, 1),
    maxBytes: positiveInteger(options.maxBytes, 'maxBytes', DEFAULT_FETCH_OPTIONS.maxBytes, 1),
    maxRedirects: positiveInteger(options.maxRedirects, 'maxRedirects', DEFAULT_FETCH_OPTIONS.maxRedirects, 0),
    userAgent: options.userAgent ?? DEFAULT_FETCH_OPTIONS.userAgent,
  };
  const policy = createDestinationPolicy(options.allowPrivateSources ?? []);
  const agentOptions = {
    headersTimeout: settings.headersTimeoutMs,
    bodyTimeout: settings.bodyTimeoutMs,
    connections: 4,
  };
  // Two pools: sources from the API connect only through the checking connector.
  const guarded = new Agent({ ...agentOptions, connect: guardedConnector(policy, settings.connectTimeoutMs) });
  let trusted: Agent | undefined;
  const trustedAgent = (): Agent => {
    trusted ??= new Agent({ ...agentOptions, connect: { timeout: settings.connectTimeoutMs } });
    return trusted;
  };
  const inFlight = new Set<AbortController>();

  /** GETs `first`, following redirects hop by hop: each hop's URL is checked, each connection by the connector. */
  async function requestFollowing(
    first: URL,
    url: string,
    init: { dispatcher: Dispatcher; headers: Record<string, string>; signal: AbortSignal },
  ): Promise<Dispatcher.ResponseData> {
    let current = first;
    for (let hop = 0; ; hop++) {
      const response = await request(current, { ...init, method: 'GET' });
      const location = header(response.headers, 'location');
      if (!REDIRECT_STATUSES.has(response.statusCode) || location === undefined || hop >= settings.maxRedirects)
        return response;
      await response.body.dump();
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (err: unknown) {
        throw fetchError(url, `HTTP ${response.statusCode} to an invalid Location`, err);
      }
      const refusal = redirectRefusal(current, next);
      if (refusal !== undefined) throw fetchError(url, `${refusal} (${next.origin}) not followed`);
      current = next;
    }
  }

  async function fetchList(url: string, validators: Validators, call: FetchCall = {}): Promise<FetchResult> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err: unknown) {
      throw fetchError(url, 'not a URL', err);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw fetchError(url, 'only http and https URLs are fetched');
    const headers: Record<string, string> = { 'accept-encoding': 'gzip', 'user-agent': settings.userAgent };
    if (validators.etag !== undefined) headers['if-none-match'] = validators.etag;
    if (validators.lastModified !== undefined) headers['if-modified-since'] = validators.lastModified;
    const conditional = validators.etag !== undefined || validators.lastModified !== undefined;

    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new DOMException('fetch timed out', 'TimeoutError')),
      settings.totalTimeoutMs,
    );
    inFlight.add(abort);
    try {
      const dispatcher = call.trustedSource === true ? trustedAgent() : guarded;
      const response = await requestFollowing(parsed, url, { dispatcher, headers, signal: abort.signal });
      const { statusCode } = response;
      if (statusCode === 304) {
        await response.body.dump();
        if (!conditional) throw fetchError(url, 'HTTP 304 to a request that was not conditional');
        return { kind: 'not-modified' };
      }
      if (statusCode !== 200) {
        await response.body.dump();
        if (statusCode >= 300 && statusCode < 400)
          throw fetchError(url, `HTTP ${statusCode}: more than ${settings.maxRedirects} redirects, or no Location`);
        throw fetchError(url, `HTTP ${statusCode}`);
      }
      const length = Number(header(response.headers, 'content-length'));
      if (Number.isFinite(length) && length > settings.maxBytes) {
        await discard(response.body);
        throw fetchError(url, `body of ${mib(length)} is larger than ${mib(settings.maxBytes)}`);
      }
      const encoding = (header(response.headers, 'content-encoding') ?? 'identity').trim().toLowerCase();
      if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip') {
        await discard(response.body);
        throw fetchError(url, `unsupported content-encoding ${JSON.stringify(encoding)}`);
      }
      const raw = await readCapped(response.body, settings.maxBytes, url);
      // A list.gz served as a file (no Content-Encoding) is inflated too.
      const body = encoding !== 'identity' || isGzip(raw) ? await inflate(raw, settings.maxBytes, url) : raw;
      const etag = header(response.headers, 'etag');
      const lastModified = header(response.headers, 'last-modified');
      return {
        kind: 'content',
        body,
        validators: {
          ...(etag !== undefined ? { etag } : {}),
          ...(lastModified !== undefined ? { lastModified } : {}),
        },
      };
    } catch (err: unknown) {
      if (err instanceof PoolsinkError) throw err;
      throw fetchError(url, describeFailure(abort.signal.aborted ? abort.signal.reason : err, settings), err);
    } finally {
      clearTimeout(timer);
      inFlight.delete(abort);
    }
  }

  return {
    fetch: fetchList,
    async close() {
      for (const abort of inFlight) abort.abort(new DOMException('list fetcher closed', 'AbortError'));
      await Promise.all([guarded.destroy(), trusted?.destroy()]);
    },
  };
}
