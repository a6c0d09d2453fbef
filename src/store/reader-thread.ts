/**
 * The admin API's block-log queries, answered by a worker thread (reader-worker.ts) with its own
 * SQLite connection. A /stats or /hosts over ten million events reads for tens of milliseconds;
 * on the DNS thread that would be a pause in every answer, here it is not.
 *
 * Queries go one at a time in order. One not answered within queryTimeoutMs (counted from when it
 * is sent, so the wait behind another counts) fails with ERR_STORE_READ, and its late answer is
 * ignored. The thread is never terminated: Worker.terminate() during a SQLite call that then throws
 * aborts the whole process (better-sqlite3 12, Node 20), and every SQLite call ends by itself (a
 * lock wait after busy_timeout). A thread that dies is replaced at the next query.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { PoolsinkError, isErrorCode } from '../errors.js';
import { pagedEvents } from './queries.js';
import type { FromReader, QueryMethod, ReaderThreadData, ToReader } from './reader-protocol.js';
import { positiveInteger } from './option-checks.js';
import type { EventQueries, EventReader } from './types.js';
import { createWorkerChannel } from './worker-channel.js';
import { startStoreWorker, workerScript } from './worker-support.js';

export interface ReaderThreadOptions {
  readonly path: string;
  readonly log: Logger;
  /** The longest one query may take. Default 30,000. */
  readonly queryTimeoutMs?: number;
  /** See EDGE_SCAN_MAX_EVENTS in queries.ts (tests lower it). */
  readonly edgeScanMaxEvents?: number;
  /** Called with each thread started; tests use it to stop one. */
  readonly onThread?: (worker: Worker) => void;
}

export interface ReaderThread extends EventReader {
  /** Fails queries still waiting and ends the thread. */
  close(): Promise<void>;
}

interface Generation {
  readonly worker: Worker;
  readonly exited: Promise<void>;
}

/** How long close() waits for the thread to end. */
const CLOSE_WAIT_MS = 5000;

function readFailed(message: string): PoolsinkError {
  return new PoolsinkError('ERR_STORE_READ', message);
}

/** Starts the reader thread; resolves once it has opened the database, rejects with its PoolsinkError. */
export async function startReaderThread(options: ReaderThreadOptions): Promise<ReaderThread> {
  const { log } = options;
  const queryTimeoutMs = positiveInteger('reader thread', 'queryTimeoutMs', options.queryTimeoutMs ?? 30_000);
  const script = workerScript('reader-worker.js', 'block-log reader thread');
  const data: ReaderThreadData = {
    path: options.path,
    logLevel: log.level,
    ...(options.edgeScanMaxEvents !== undefined ? { edgeScanMaxEvents: options.edgeScanMaxEvents } : {}),
  };
  /** The thread queries go to; undefined until the next query starts one. */
  let current: Promise<Generation> | undefined;
  let closed = false;
  const queries = createWorkerChannel('ERR_STORE_READ');

  function spawn(): Promise<Generation> {
    const started = startStoreWorker<FromReader>({
      script,
      workerData: data,
      log,
      thread: 'reader',
      errorCode: 'ERR_STORE_OPEN',
      onThread: options.onThread,
      onMessage(message) {
        if (message.kind === 'result') queries.resolve(message.id, message.value);
        else {
          const { code, message: text } = message;
          queries.reject(message.id, isErrorCode(code) ? new PoolsinkError(code, text) : new Error(text));
        }
      },
      onExit(code) {
        if (closed) return;
        // Only a ready thread is ever current, and it is replaced only here.
        current = undefined;
        const failedQueries = queries.failSentTo(started.worker, `the block-log reader thread exited (code ${code})`);
        log.error({ code, failedQueries }, 'block-log reader thread exited; the next query starts a new one');
      },
    });
    return started.ready.then(() => ({ worker: started.worker, exited: started.exited }));
  }

  /** The current thread, started if there is none. */
  function readyThread(): Promise<Generation> {
    if (current === undefined) {
      const starting = spawn();
      current = starting;
      // A start that fails is not kept: the next query tries again.
      starting.catch(() => {
        if (current === starting) current = undefined;
      });
    }
    return current;
  }

  async function query<M extends QueryMethod>(
    method: M,
    args: Parameters<EventQueries[M]>,
  ): Promise<ReturnType<EventQueries[M]>> {
    if (closed) throw readFailed('the block-log reader is closed');
    const { worker } = await readyThread();
    const { id, reply } = queries.open<ReturnType<EventQueries[M]>>({
      timeoutMs: queryTimeoutMs,
      reason: `the block-log query took longer than ${queryTimeoutMs} ms`,
      onTimeout: () => log.warn({ method, queryTimeoutMs }, 'block-log query timed out'),
    });
    queries.sentTo(id, worker);
    const message = { kind: 'query', id, method, args } as ToReader;
    worker.postMessage(message);
    return reply;
  }

  await readyThread();

  const events: EventReader['events'] = (filter, limit, cursor) =>
    query('events', cursor === undefined ? [filter, limit] : [filter, limit, cursor]);
  return {
    events,
    clientsIn: (cidr) => query('clientsIn', [cidr]),
    iterateEvents: (filter) => pagedEvents(events, filter),
    hosts: (sinceMs, limit) => query('hosts', [sinceMs, limit]),
    hostsPage: (sinceMs, limit, cursor) =>
      query('hostsPage', cursor === undefined ? [sinceMs, limit] : [sinceMs, limit, cursor]),
    host: (clientIp, recentLimit) => query('host', [clientIp, recentLimit]),
    stats: (sinceMs, topLimit) => query('stats', [sinceMs, topLimit]),
    incidents: (filter, limit, afterId) =>
      query('incidents', afterId === undefined ? [filter, limit] : [filter, limit, afterId]),
    incident: (id, recentLimit) => query('incident', [id, recentLimit]),
    timeseries: (range, nowMs, withOutcomes) => query('timeseries', [range, nowMs, withOutcomes]),
    overview: (sinceMs, topLimit) => query('overview', [sinceMs, topLimit]),
    minerLogins: (filter, limit, cursor) =>
      query('minerLogins', cursor === undefined ? [filter, limit] : [filter, limit, cursor]),
    async close() {
      if (closed) return;
      closed = true;
      const last = current;
      current = undefined;
      if (last === undefined) return;
      let thread: Generation;
      try {
        thread = await last;
      } catch {
        return; // it never started: nothing to stop
      }
      queries.failAll('the block-log reader is closed');
      // The thread ends once its current query is done. Until then (at most CLOSE_WAIT_MS) it keeps
      // the process alive: otherwise an otherwise idle process would exit here, mid-shutdown.
      const { worker } = thread;
      worker.ref();
      worker.postMessage({ kind: 'close' } satisfies ToReader);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(() => resolve('timeout'), CLOSE_WAIT_MS)),
      );
      const outcome = await Promise.race([thread.exited, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        worker.unref();
        log.warn(
          { waitedMs: CLOSE_WAIT_MS },
          'block-log reader thread still busy at close; leaving it to end with the process',
        );
      }
    },
  };
}
