/**
 * The block log written from a worker thread. The DNS thread's record() packs each event into a
 * batch (event-codec.ts, about 0.6 µs) and posts the batch to the writer thread
 * (writer-worker.ts) every postBatchSize events or postDelayMs after the first; the SQLite work,
 * about 10-60 µs per event, runs there and never pauses DNS answers.
 *
 * The buffer bound holds across both threads: events packed here, posted but not yet taken, and
 * buffered in the worker count together against maxBuffered; beyond it, events are dropped here and
 * counted. The worker's counters are read from shared memory, so `stats` never waits. flush() and
 * close() do wait (Atomics.wait, bounded by waitTimeoutMs): they are for shutdown and tests.
 *
 * If the thread dies (a bug), its unwritten events are counted as dropped, the error is logged and
 * a new thread is started after a backoff; events meanwhile wait here, up to the bound.
 */
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ListStoreWrite } from '../blocklist/list-store.js';
import type { BlockEvent } from '../dns/resolver.js';
import { PoolsinkError, errorMessage, isErrorCode } from '../errors.js';
import type { EventTally } from './batch-writer.js';
import { createEventEncoder } from './event-codec.js';
import { EVENT_BATCH_SIZE, FLUSH_INTERVAL_MS, MAX_BUFFERED_EVENTS } from '../config/defaults.js';
import { positiveInteger } from './options.js';
import { startStoreWorker, workerScript } from './worker-support.js';
import type { EventWriter, EventWriterStats, OutcomeCounts } from './types.js';
import {
  ERROR_TEXT_BYTES,
  SIGNAL,
  SIGNAL_SLOTS,
  STAT,
  STAT_SLOTS,
  type FromWriter,
  type ToWriter,
  type WriterThreadData,
  type WriterThreadSettings,
} from './writer-protocol.js';

export interface WriterThreadOptions {
  readonly path: string;
  readonly log: Logger;
  readonly retentionDays: number;
  readonly maxEvents: number;
  /** How often the worker writes buffered events. Default FLUSH_INTERVAL_MS (250). */
  readonly flushIntervalMs?: number;
  /** Events per transaction in the worker (a write starts once this many wait). Default EVENT_BATCH_SIZE (500). */
  readonly batchSize?: number;
  /** Events per transaction while a backlog waits. Default 10,000. */
  readonly maxBatchSize?: number;
  /** Events held at most across both threads; more are dropped and counted. Default MAX_BUFFERED_EVENTS (200,000). */
  readonly maxBuffered?: number;
  readonly pruneIntervalMs?: number;
  /** Events packed before they are posted. Default 512. */
  readonly postBatchSize?: number;
  /** The longest a packed event waits before it is posted. Default 10. */
  readonly postDelayMs?: number;
  /** The longest flush() and close() wait for the worker. Default 30,000. */
  readonly waitTimeoutMs?: number;
  /** Called after the worker reopened a deleted or replaced database file. */
  readonly onReopened?: () => void;
  /** Called with each thread started (the first and any restart); tests use it to stop one. */
  readonly onThread?: (worker: Worker) => void;
  /** Time of drops and of outcomes given without one. Default Date.now. */
  readonly clock?: () => number;
}

export interface WriterThread extends EventWriter {
  /** Resolves once the thread has ended after close(). */
  readonly exited: Promise<void>;
  /**
   * Writes to the list manager's tables in the writer thread, between its event transactions, so
   * the DNS thread never waits for the write lock. Resolves once committed; rejects with the
   * ListStore's error (ERR_CONFLICT, ERR_STORE_WRITE), or ERR_STORE_WRITE if the thread ends first.
   * While a thread is being restarted, writes wait for the new one.
   */
  writeListStore(write: ListStoreWrite): Promise<void>;
}

const WARN_INTERVAL_MS = 60_000;
/** Distinct (client, name, list, action) tallies of dropped events held between posts. */
const MAX_TALLY_KEYS = 10_000;
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;


type MutableTally = { -readonly [K in keyof EventTally]: EventTally[K] };

interface Generation {
  readonly worker: Worker;
  readonly stats: Float64Array;
  readonly signals: Int32Array;
  readonly errorText: Uint8Array;
  /** Events posted to this worker. */
  sent: number;
  /** 'dropped' messages posted to this worker. */
  droppedMessagesSent: number;
  ready: boolean;
}

/** Starts the writer thread; resolves once it has opened the database. Rejects with the worker's PoolsinkError. */
export async function startWriterThread(options: WriterThreadOptions): Promise<WriterThread> {
  const { log } = options;
  const clock = options.clock ?? Date.now;
  const settings: WriterThreadSettings = {
    path: options.path,
    logLevel: log.level,
    flushIntervalMs: positiveInteger('writer thread', 'flushIntervalMs', options.flushIntervalMs ?? FLUSH_INTERVAL_MS),
    batchSize: positiveInteger('writer thread', 'batchSize', options.batchSize ?? EVENT_BATCH_SIZE),
    maxBatchSize: positiveInteger('writer thread', 'maxBatchSize', options.maxBatchSize ?? 10_000),
    maxBuffered: positiveInteger('writer thread', 'maxBuffered', options.maxBuffered ?? MAX_BUFFERED_EVENTS),
    retentionDays: options.retentionDays,
    maxEvents: options.maxEvents,
    ...(options.pruneIntervalMs !== undefined ? { pruneIntervalMs: options.pruneIntervalMs } : {}),
  };
  const postBatchSize = positiveInteger('writer thread', 'postBatchSize', options.postBatchSize ?? 512);
  const postDelayMs = positiveInteger('writer thread', 'postDelayMs', options.postDelayMs ?? 10);
  const waitTimeoutMs = positiveInteger('writer thread', 'waitTimeoutMs', options.waitTimeoutMs ?? 30_000);
  const script = workerScript('writer-worker.js', 'block-log writer thread');

  const encoder = createEventEncoder(postBatchSize);
  /** Messages held while no worker is ready (restarting). */
  let queued: ToWriter[] = [];
  let queuedEvents = 0;
  /** Counters of workers that died, so totals survive a restart. */
  let pastWritten = 0;
  let pastDropped = 0;
  let pastWriteErrors = 0;
  let droppedHere = 0;
  let droppedSinceWarn = 0;
  let lastDropWarnMs = Number.NEGATIVE_INFINITY;
  let postTimer: NodeJS.Timeout | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let restartDelayMs = RESTART_MIN_MS;
  let seq = 0;
  let closed = false;
  /** List-store writes not yet answered, and the thread each was posted to (none while queued). */
  const listWrites = new Map<number, { resolve: () => void; reject: (err: Error) => void; worker?: Worker }>();
  let nextListWriteId = 0;
  /** Fails the list-store writes posted to `worker` (all of them when undefined). */
  function failListWrites(worker: Worker | undefined, reason: string): void {
    for (const [id, pending] of listWrites) {
      if (worker !== undefined && pending.worker !== worker) continue;
      listWrites.delete(id);
      pending.reject(new PoolsinkError('ERR_STORE_WRITE', reason));
    }
  }
  let resolveExited: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => {
    resolveExited = resolve;
  });

  function send(generation: Generation | undefined, message: ToWriter): void {
    if (generation?.ready === true) {
      generation.worker.postMessage(message);
      if (message.kind === 'events') generation.sent += message.batch.count;
      else if (message.kind === 'listStore') {
        const pending = listWrites.get(message.id);
        if (pending !== undefined) pending.worker = generation.worker;
      }
      return;
    }
    queued.push(message);
    if (message.kind === 'events') queuedEvents += message.batch.count;
  }

  let current: Generation | undefined;

  let dropsUnsent = 0;
  let dropsUnsentAtMs = 0;
  /** Dropped events summed per client, name, list and action, until sent (bounded). */
  const tallies = new Map<string, MutableTally>();
  /** Dropped events beyond MAX_TALLY_KEYS: in no summary. */
  let untallied = 0;

  function tallyDropped(event: BlockEvent): void {
    const { clientIp, qname, list, action, timeMs } = event;
    // Length-prefixed, so no name can make two different tuples share a key.
    const key = `${clientIp.length}:${clientIp}${qname.length}:${qname}${list.length}:${list}${action}`;
    const existing = tallies.get(key);
    if (existing !== undefined) {
      existing.count += 1;
      if (timeMs < existing.firstMs) existing.firstMs = timeMs;
      if (timeMs > existing.lastMs) existing.lastMs = timeMs;
    } else if (tallies.size < MAX_TALLY_KEYS) {
      tallies.set(key, { clientIp, qname, list, action, count: 1, firstMs: timeMs, lastMs: timeMs });
    } else {
      untallied += 1;
    }
  }

  /**
   * Sends the drop count and tallies to a running thread that has taken the previous ones: a starved
   * thread's queue must not grow with them. Meanwhile they stay summed here (bounded).
   */
  function sendDrops(): void {
    const g = current;
    if (g?.ready !== true || (dropsUnsent === 0 && tallies.size === 0)) return;
    if (g.droppedMessagesSent > g.stats[STAT.droppedMessages]!) {
      schedulePost();
      return;
    }
    send(g, { kind: 'dropped', atMs: dropsUnsentAtMs, count: dropsUnsent, tallies: [...tallies.values()] });
    g.droppedMessagesSent += 1;
    dropsUnsent = 0;
    tallies.clear();
  }

  function postEvents(): void {
    if (postTimer !== undefined) {
      clearTimeout(postTimer);
      postTimer = undefined;
    }
    if (encoder.count > 0) send(current, { kind: 'events', batch: encoder.take() });
    sendDrops();
  }

  function schedulePost(): void {
    if (postTimer === undefined) {
      postTimer = setTimeout(postEvents, postDelayMs);
      postTimer.unref();
    }
  }

  function spawn(): Promise<Generation> {
    const data: WriterThreadData = {
      settings,
      stats: new SharedArrayBuffer(STAT_SLOTS * Float64Array.BYTES_PER_ELEMENT),
      signals: new SharedArrayBuffer(SIGNAL_SLOTS * Int32Array.BYTES_PER_ELEMENT),
      errorText: new SharedArrayBuffer(ERROR_TEXT_BYTES),
    };
    const stats = new Float64Array(data.stats);
    stats[STAT.errorLength] = -1;
    const started = startStoreWorker<FromWriter>({
      script,
      workerData: data,
      log,
      thread: 'writer',
      errorCode: 'ERR_STORE_WRITE',
      onThread: options.onThread,
      onMessage(message) {
        switch (message.kind) {
          case 'reopened':
            options.onReopened?.();
            break;
          case 'listStored': {
            const pending = listWrites.get(message.id);
            if (pending === undefined) break;
            listWrites.delete(message.id);
            if (message.code === undefined) pending.resolve();
            else pending.reject(new PoolsinkError(isErrorCode(message.code) ? message.code : 'ERR_STORE_WRITE', message.message ?? ''));
            break;
          }
        }
      },
      onExit(code) {
        generation.ready = false;
        failListWrites(generation.worker, `the block-log writer thread exited (code ${code}) before the write was confirmed`);
        if (closed) {
          failListWrites(undefined, 'the block log is closed');
          resolveExited();
          return;
        }
        lost(generation, code);
      },
    });
    const generation: Generation = { worker: started.worker, stats, errorText: new Uint8Array(data.errorText), signals: new Int32Array(data.signals), sent: 0, droppedMessagesSent: 0, ready: false };
    return started.ready.then(() => {
      generation.ready = true;
      return generation;
    });
  }

  /** A worker died while running: count what it held as dropped and start another. */
  function lost(generation: Generation, code: number): void {
    const s = generation.stats;
    const unwritten = generation.sent - s[STAT.received]! + s[STAT.buffered]!;
    pastWritten += s[STAT.written]!;
    pastDropped += s[STAT.dropped]! + unwritten;
    pastWriteErrors += s[STAT.writeErrors]!;
    current = undefined;
    log.error({ code, lostEvents: unwritten, restartInMs: restartDelayMs }, 'block-log writer thread exited; starting a new one');
    scheduleRestart();
  }

  function scheduleRestart(): void {
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      spawn().then(adopt, (err: unknown) => {
        restartDelayMs = Math.min(RESTART_MAX_MS, restartDelayMs * 2);
        log.error({ err: errorMessage(err), restartInMs: restartDelayMs }, 'block-log writer thread could not be restarted');
        if (!closed) scheduleRestart();
      });
    }, restartDelayMs);
    restartTimer.unref();
  }

  function adopt(generation: Generation): void {
    if (closed) {
      void generation.worker.terminate();
      return;
    }
    current = generation;
    restartDelayMs = RESTART_MIN_MS;
    const held = queued;
    queued = [];
    queuedEvents = 0;
    for (const message of held) send(generation, message);
    postEvents();
  }

  function drop(event: BlockEvent): void {
    droppedHere += 1;
    droppedSinceWarn += 1;
    const now = clock();
    // Summed here and sent with the next batch: a message per drop would cost most in a flood.
    if (!closed) {
      if (dropsUnsent > 0 && now - dropsUnsentAtMs >= 60_000) sendDrops();
      if (dropsUnsent === 0) dropsUnsentAtMs = now;
      dropsUnsent += 1;
      tallyDropped(event);
      schedulePost();
    }
    if (now - lastDropWarnMs >= WARN_INTERVAL_MS) {
      log.warn(
        { dropped: droppedSinceWarn, droppedTotal: droppedHere, untallied, buffered: outstanding(), maxBuffered: settings.maxBuffered, lastError: lastError() },
        'block log buffer full: dropping events until the writer catches up (they still count in host and domain summaries)',
      );
      lastDropWarnMs = now;
      droppedSinceWarn = 0;
    }
  }

  /** The current thread's last write error, read from shared memory (a copy: TextDecoder refuses shared views). */
  function lastError(): string | undefined {
    const g = current;
    const length = g?.stats[STAT.errorLength] ?? -1;
    if (g === undefined || length < 0) return undefined;
    return Buffer.from(g.errorText.slice(0, Math.min(length, ERROR_TEXT_BYTES))).toString('utf8');
  }

  function outstanding(): number {
    const g = current;
    const inWorker = g === undefined ? 0 : g.sent - g.stats[STAT.received]! + g.stats[STAT.buffered]!;
    return encoder.count + queuedEvents + inWorker;
  }

  /** Waits until the worker has answered request `seq` in `slot`; false on timeout. */
  function waitFor(generation: Generation, slot: number, target: number): boolean {
    const deadline = performance.now() + waitTimeoutMs;
    for (;;) {
      const seen = Atomics.load(generation.signals, slot);
      if (seen >= target) return true;
      const left = deadline - performance.now();
      if (left <= 0 || !generation.ready) return false;
      Atomics.wait(generation.signals, slot, seen, Math.min(left, 100));
    }
  }

  adopt(await spawn());

  return {
    exited,
    record(event: BlockEvent): void {
      if (closed || outstanding() >= settings.maxBuffered) {
        drop(event);
        return;
      }
      encoder.add(event);
      if (encoder.count >= postBatchSize) postEvents();
      else schedulePost();
    },
    addOutcomes(deltas: OutcomeCounts, atMs?: number): void {
      if (closed) return;
      send(current, { kind: 'outcomes', atMs: atMs ?? clock(), deltas });
    },
    get stats(): EventWriterStats {
      const s = current?.stats;
      const error = lastError();
      return {
        buffered: outstanding(),
        written: pastWritten + (s?.[STAT.written] ?? 0),
        dropped: droppedHere + pastDropped + (s?.[STAT.dropped] ?? 0),
        writeErrors: pastWriteErrors + (s?.[STAT.writeErrors] ?? 0),
        healthy: s !== undefined && s[STAT.healthy] === 1,
        ...(error === undefined ? {} : { lastError: error }),
      };
    },
    flush(): void {
      postEvents();
      const generation = current;
      if (generation === undefined) {
        log.error({ buffered: outstanding() }, 'block log flush: the writer thread is restarting; buffered events are not written');
        return;
      }
      seq += 1;
      send(generation, { kind: 'flush', seq });
      if (!waitFor(generation, SIGNAL.flushed, seq)) {
        log.error({ waitedMs: waitTimeoutMs, buffered: outstanding() }, 'block log flush: the writer thread did not finish in time');
      }
    },
    writeListStore(write) {
      if (closed) return Promise.reject(new PoolsinkError('ERR_STORE_WRITE', 'the block log is closed'));
      return new Promise<void>((resolve, reject) => {
        nextListWriteId += 1;
        listWrites.set(nextListWriteId, { resolve, reject });
        send(current, { kind: 'listStore', id: nextListWriteId, write });
      });
    },
    close(): void {
      if (closed) return;
      postEvents();
      closed = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      const generation = current;
      if (generation === undefined) {
        failListWrites(undefined, 'the block log closed while its writer thread was restarting');
        resolveExited();
        return;
      }
      // Until it has exited, the thread keeps the process alive (its last log lines are on the way).
      generation.worker.ref();
      seq += 1;
      send(generation, { kind: 'close', seq });
      if (!waitFor(generation, SIGNAL.closed, seq)) {
        // Not Worker.terminate(): during a SQLite call that then throws it aborts the whole process.
        // Unref'd, the thread ends with the process, whatever it still holds counted as unwritten.
        log.error({ waitedMs: waitTimeoutMs, buffered: outstanding() }, 'block log close: the writer thread did not finish in time; leaving it to end with the process');
        generation.worker.unref();
        resolveExited();
      }
    },
  };
}
