/**
 * Forwards cache misses to the configured upstreams: random ID and source port per attempt, replies
 * accepted only from the address and socket the query went to with the same ID and question, a
 * TCP retry for truncated answers, one shared sweep timer for timeouts, and failover in health
 * order. Every query ends in exactly one `done` call, never synchronously inside `query`.
 * One state machine per query (attempt, TCP retry, failover); its options are checked in pool-options.ts.
 */
import { performance } from 'node:perf_hooks';
import type { RemoteInfo } from 'node:dgram';
import { errorMessage } from '../errors.js';
import { skipName } from '../wire/name.js';
import { HEADER_LEN, RCODE, readId, readRcode } from '../wire/header.js';
import { inspectResponse, type ResponseFacts } from '../wire/inspect-response.js';
import { createDeadlines } from './deadlines.js';
import { createHealthTracker, type FailureReason, type UpstreamHealth } from './health.js';
import { createRandomIds } from './ids.js';
import { checkPoolOptions, type Upstream, type UpstreamPoolOptions } from './pool-options.js';
import { TRUNCATED, checkReply } from './reply-check.js';
import { startTcpExchange, type TcpExchange } from './tcp-client.js';
import { createUdpClient, type UdpClient, type UdpSocketSlot } from './udp-client.js';

export type { UpstreamHealth } from './health.js';
export type { UpstreamAddress, UpstreamPoolOptions } from './pool-options.js';

export type UpstreamFailure = FailureReason;

export type UpstreamResult =
  | {
      kind: 'answer';
      response: Buffer;
      /** What reply-check.ts read in `response`; undefined for a malformed truncated answer over TCP. */
      facts: ResponseFacts | undefined;
      upstream: string;
      viaTcp: boolean;
    }
  | { kind: 'failed'; reason: UpstreamFailure; detail: string };

export type UpstreamDone<C> = (result: UpstreamResult, context: C) => void;

export interface UpstreamStats {
  /** Messages sent: UDP attempts and TCP retries. */
  sent: number;
  /** Queries that ended with an answer. */
  answered: number;
  /** Attempts (UDP or TCP) that timed out. */
  timeouts: number;
  /** Replies dropped: wrong ID, socket, source or question, malformed, or late. */
  mismatched: number;
  tcpRetries: number;
  /** Socket, send and TCP connection errors. */
  errors: number;
}

export interface UpstreamPool {
  /**
   * Forwards `query` (the client's raw bytes; bytes 12..questionEnd are its question). The pool
   * sends a copy with its own random ID; `done` is called exactly once, never synchronously. The
   * response passed back still carries the pool's ID: the caller rewrites it. `context` is handed
   * back to `done`, so a caller can pass one long-lived function instead of a closure per query.
   */
  query(query: Buffer, questionEnd: number, done: (result: UpstreamResult) => void): void;
  query<C>(query: Buffer, questionEnd: number, done: UpstreamDone<C>, context: C): void;
  readonly stats: UpstreamStats;
  health(): UpstreamHealth[];
  /**
   * Sends to `upstreams` with `timeoutMs` from the next query on (a configuration reload); queries
   * already under way finish with the upstreams they started with. Health starts afresh.
   * Throws ERR_CONFIG_INVALID naming a bad option, changing nothing.
   */
  reconfigure(next: Pick<UpstreamPoolOptions, 'upstreams' | 'timeoutMs'>): void;
  /** Stops sockets and timers; pending queries complete with kind 'failed' reason 'error'. */
  close(): Promise<void>;
}

/** One `query` call, moving through its attempts. Also the entry in sockets and deadlines. */
interface Job {
  readonly wire: Buffer;
  readonly questionEnd: number;
  /**
   * The caller's callback and the context it gets back. Method syntax: TypeScript checks method
   * parameters bivariantly, so any caller's `UpstreamDone<C>` fits with its own C.
   */
  done(result: UpstreamResult, context: unknown): void;
  readonly context: unknown;
  readonly order: readonly Upstream[];
  /** Index in `order` of the next upstream to try. */
  next: number;
  /** The upstream of the current attempt. */
  upstream: Upstream | undefined;
  viaTcp: boolean;
  /** The pool's ID for the current attempt. */
  id: number;
  udpSlot: UdpSocketSlot<Job> | undefined;
  tcp: TcpExchange | undefined;
  lastReason: UpstreamFailure;
  lastDetail: string;
  /** now() when the current attempt was sent. */
  sentAtMs: number;
}

export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const { log } = options;
  const checked = checkPoolOptions(options);
  const { socketCount, socketMaxUses, sweepIntervalMs } = checked;
  let timeoutMs = checked.timeoutMs;
  const now = options.now ?? (() => performance.now());

  const stats: UpstreamStats = { sent: 0, answered: 0, timeouts: 0, mismatched: 0, tcpRetries: 0, errors: 0 };
  let health = createHealthTracker(checked.upstreams);
  const random = createRandomIds();
  const deadlines = createDeadlines<Job>({
    sweepIntervalMs,
    now,
    onExpired: onTimeout,
    onError: (err) => log.error({ err }, 'upstream timeout handling failed'),
  });
  let udp4: UdpClient<Job> | undefined;
  let udp6: UdpClient<Job> | undefined;
  let closed = false;

  function udpClientFor(family: 4 | 6): UdpClient<Job> {
    if (family === 4) {
      udp4 ??= createUdpClientOf('udp4');
      return udp4;
    }
    udp6 ??= createUdpClientOf('udp6');
    return udp6;
  }

  function createUdpClientOf(type: 'udp4' | 'udp6'): UdpClient<Job> {
    return createUdpClient<Job>({
      type,
      socketCount,
      maxUses: socketMaxUses,
      random,
      events: {
        onReply: onUdpReply,
        onStray,
        onSocketError(err) {
          stats.errors++;
          log.warn({ upstream: `${type} socket`, err }, 'upstream socket error');
        },
        onUnreachable(err) {
          // Port unreachable from an upstream's host: counted; its queries time out and fail over,
          // which logs the upstream once it is marked unhealthy (not a line per datagram here).
          stats.errors++;
          if (log.isLevelEnabled('debug')) log.debug({ err }, 'upstream port unreachable');
        },
      },
    });
  }

  function complete(job: Job, result: UpstreamResult): void {
    try {
      job.done(result, job.context);
    } catch (err: unknown) {
      log.error({ err }, 'upstream result callback failed');
    }
  }

  function completeLater<C>(done: UpstreamDone<C>, context: C, reason: UpstreamFailure, detail: string): void {
    queueMicrotask(() => {
      try {
        done({ kind: 'failed', reason, detail }, context);
      } catch (err: unknown) {
        log.error({ err }, 'upstream result callback failed');
      }
    });
  }

  /** Ends the current attempt's I/O: no reply, timeout or error for it arrives afterwards. */
  function endAttempt(job: Job): void {
    deadlines.delete(job);
    if (job.udpSlot !== undefined) {
      (job.upstream?.family === 6 ? udp6 : udp4)?.release(job.udpSlot, job.id);
      job.udpSlot = undefined;
    }
    if (job.tcp !== undefined) {
      job.tcp.cancel();
      job.tcp = undefined;
    }
  }

  function tryNext(job: Job): void {
    const upstream = job.order[job.next++];
    if (closed) {
      complete(job, { kind: 'failed', reason: 'error', detail: 'upstream pool closed' });
      return;
    }
    if (upstream === undefined) {
      complete(job, { kind: 'failed', reason: job.lastReason, detail: job.lastDetail });
      return;
    }
    job.upstream = upstream;
    job.viaTcp = false;
    try {
      job.udpSlot = udpClientFor(upstream.family).send(job.wire, upstream.host, upstream.port, job);
    } catch (err: unknown) {
      stats.errors++;
      log.warn({ upstream: upstream.label, err }, 'upstream socket error');
      // Deferred, so that `done` is never called from inside `query`.
      queueMicrotask(() => attemptFailed(job, 'error', `${upstream.label}: ${errorMessage(err)}`));
      return;
    }
    job.id = readId(job.wire);
    stats.sent++;
    job.sentAtMs = now();
    deadlines.set(job, job.sentAtMs + timeoutMs);
  }

  function attemptFailed(job: Job, reason: UpstreamFailure, detail: string): void {
    const upstream = job.upstream;
    if (upstream !== undefined) upstream.failures[reason]++;
    if (upstream !== undefined && health.failed(upstream, detail)) {
      log.warn(
        { upstream: upstream.label, failures: upstream.consecutiveFailures, lastError: detail },
        'upstream marked unhealthy',
      );
    }
    job.lastReason = reason;
    job.lastDetail = detail;
    tryNext(job);
  }

  function accept(job: Job, reply: Buffer, checked: ResponseFacts | typeof TRUNCATED): void {
    const upstream = job.upstream;
    if (upstream === undefined) return;
    if (!job.viaTcp && checked === TRUNCATED) {
      stats.tcpRetries++;
      startTcp(job, upstream);
      return;
    }
    const rcode = readRcode(reply);
    if (rcode === RCODE.SERVFAIL) {
      attemptFailed(job, 'servfail', `${upstream.label} answered SERVFAIL`);
      return;
    }
    if (rcode === RCODE.REFUSED) {
      attemptFailed(job, 'refused', `${upstream.label} answered REFUSED`);
      return;
    }
    if (health.succeeded(upstream)) log.info({ upstream: upstream.label }, 'upstream healthy again');
    stats.answered++;
    options.observeRtt?.(upstream.label, (now() - job.sentAtMs) / 1000);
    // Read once here (reply-check.ts) and handed on; only a truncated TCP answer is read now.
    const facts = checked === TRUNCATED ? inspectResponse(reply) : checked;
    complete(job, { kind: 'answer', response: reply, facts, upstream: upstream.label, viaTcp: job.viaTcp });
  }

  function startTcp(job: Job, upstream: Upstream): void {
    job.viaTcp = true;
    stats.sent++;
    job.tcp = startTcpExchange({
      host: upstream.host,
      port: upstream.port,
      message: job.wire,
      onReply: (reply) => onTcpReply(job, reply),
      onError: (err) => onTcpError(job, upstream, err),
    });
    job.sentAtMs = now();
    deadlines.set(job, job.sentAtMs + timeoutMs);
  }

  function onUdpReply(job: Job, reply: Buffer, from: RemoteInfo): void {
    const upstream = job.upstream;
    // The socket is connected to the upstream, so the kernel has checked the source already.
    const checked =
      upstream === undefined || from.port !== upstream.port || from.address !== upstream.host
        ? undefined
        : checkReply(reply, job.wire, job.questionEnd);
    if (checked === undefined) {
      stats.mismatched++;
      return;
    }
    endAttempt(job);
    accept(job, reply, checked);
  }

  function onTcpReply(job: Job, reply: Buffer): boolean {
    const checked =
      reply.length < HEADER_LEN || readId(reply) !== job.id ? undefined : checkReply(reply, job.wire, job.questionEnd);
    if (checked === undefined) {
      stats.mismatched++;
      return false;
    }
    // The exchange ends itself on `true`; only the deadline is left to clear.
    job.tcp = undefined;
    deadlines.delete(job);
    accept(job, reply, checked);
    return true;
  }

  function onStray(): void {
    stats.mismatched++;
  }

  function onTcpError(job: Job, upstream: Upstream, err: Error): void {
    stats.errors++;
    log.warn({ upstream: upstream.label, err }, 'upstream socket error');
    job.tcp = undefined; // the exchange is over
    endAttempt(job);
    attemptFailed(job, 'error', `${upstream.label} over tcp: ${err.message}`);
  }

  function onTimeout(job: Job): void {
    const label = job.upstream?.label ?? 'unknown';
    const transport = job.viaTcp ? 'tcp' : 'udp';
    stats.timeouts++;
    endAttempt(job);
    attemptFailed(job, 'timeout', `${label} did not answer over ${transport} within ${timeoutMs} ms`);
  }

  return {
    query(query: Buffer, questionEnd: number, done: Job['done'], context?: unknown) {
      if (closed) {
        completeLater(done, context, 'error', 'upstream pool is closed');
        return;
      }
      if (
        questionEnd > query.length ||
        questionEnd < HEADER_LEN + 5 ||
        skipName(query, HEADER_LEN, questionEnd) !== questionEnd - 4
      ) {
        completeLater(done, context, 'error', 'query has no well-formed question');
        return;
      }
      const wire = Buffer.allocUnsafe(query.length);
      query.copy(wire);
      const job: Job = {
        wire,
        questionEnd,
        done,
        context,
        order: health.order(),
        next: 0,
        upstream: undefined,
        viaTcp: false,
        id: 0,
        udpSlot: undefined,
        tcp: undefined,
        lastReason: 'error',
        sentAtMs: 0,
        lastDetail: 'no upstream was tried',
      };
      tryNext(job);
    },
    stats,
    health() {
      return health.snapshot();
    },
    reconfigure(next) {
      const reconfigured = checkPoolOptions({ ...options, ...next });
      health = createHealthTracker(reconfigured.upstreams);
      timeoutMs = reconfigured.timeoutMs;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const job of deadlines.drain()) {
        endAttempt(job);
        complete(job, { kind: 'failed', reason: 'error', detail: 'upstream pool closed' });
      }
      await Promise.all([udp4?.close(), udp6?.close()]);
    },
  };
}
