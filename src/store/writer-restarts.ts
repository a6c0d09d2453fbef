/**
 * Keeps one block-log writer thread (writer-worker.ts) running for writer-thread.ts. Each thread
 * started is a generation: its Worker and the shared memory it reports through (counters, the
 * flush/close signals, the text of its last write error). A generation that dies after it was ready
 * (a bug) has what it held counted as dropped, and is replaced after a backoff: 1 s, doubling up to
 * 30 s while starts fail. The counters of dead generations are kept, so totals survive a restart.
 */
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { startStoreWorker } from './worker-support.js';
import {
  ERROR_TEXT_BYTES,
  SIGNAL_SLOTS,
  STAT,
  STAT_SLOTS,
  type FromWriter,
  type WriterThreadData,
  type WriterThreadSettings,
} from './writer-protocol.js';

const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;

export interface WriterGeneration {
  readonly worker: Worker;
  /** STAT slots, written by the worker. */
  readonly stats: Float64Array;
  /** SIGNAL slots, written by the worker. */
  readonly signals: Int32Array;
  readonly errorText: Uint8Array;
  /** Events posted to this worker. */
  sent: number;
  /** 'dropped' messages posted to this worker. */
  droppedMessagesSent: number;
  ready: boolean;
}

/** The messages of a writer thread that are its own (not the start handshake or log lines). */
export type WriterReply = Extract<
  FromWriter,
  { kind: 'reopened' | 'listStored' | 'incidentChanged' | 'notifyStatus' | 'identityMisses' | 'retroHunted' }
>;

export interface WriterRestartsOptions {
  readonly script: URL;
  readonly settings: WriterThreadSettings;
  readonly log: Logger;
  readonly onThread: ((worker: Worker) => void) | undefined;
  readonly onMessage: (message: WriterReply) => void;
  /** A thread that was ready ended (also after stop()): fail what it took with it. */
  readonly onExit: (worker: Worker, code: number) => void;
  /** A thread became the current one (the first, or a restart): post to it what waited. */
  readonly onAdopt: (generation: WriterGeneration) => void;
}

export interface WriterRestarts {
  /** The ready thread; undefined while one is being restarted. stop() leaves it in place. */
  readonly current: WriterGeneration | undefined;
  /** Counters of threads that died. */
  readonly pastWritten: number;
  readonly pastDropped: number;
  readonly pastWriteErrors: number;
  /** Starts the first thread; rejects with the worker's PoolsinkError. */
  start(): Promise<void>;
  /** No more restarts: a thread that dies or starts from now on is not adopted. */
  stop(): void;
}

/** Events a generation has been sent and not yet written. */
export function eventsHeldBy(generation: WriterGeneration): number {
  const { stats } = generation;
  return generation.sent - stats[STAT.received]! + stats[STAT.buffered]!;
}

/** A generation's last write error, read from shared memory (a copy: TextDecoder refuses shared views). */
export function lastWriteError(generation: WriterGeneration): string | undefined {
  const length = generation.stats[STAT.errorLength] ?? -1;
  if (length < 0) return undefined;
  return Buffer.from(generation.errorText.slice(0, Math.min(length, ERROR_TEXT_BYTES))).toString('utf8');
}

/** Waits until the worker has signalled `target` (or later) in `slot`; false on timeout or exit. */
export function waitForSignal(generation: WriterGeneration, slot: number, target: number, timeoutMs: number): boolean {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const seen = Atomics.load(generation.signals, slot);
    if (seen >= target) return true;
    const left = deadline - performance.now();
    if (left <= 0 || !generation.ready) return false;
    Atomics.wait(generation.signals, slot, seen, Math.min(left, 100));
  }
}

export function createWriterRestarts(options: WriterRestartsOptions): WriterRestarts {
  const { log, settings } = options;
  let current: WriterGeneration | undefined;
  let pastWritten = 0;
  let pastDropped = 0;
  let pastWriteErrors = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let restartDelayMs = RESTART_MIN_MS;
  let stopped = false;

  function spawn(): Promise<WriterGeneration> {
    const data: WriterThreadData = {
      settings,
      stats: new SharedArrayBuffer(STAT_SLOTS * Float64Array.BYTES_PER_ELEMENT),
      signals: new SharedArrayBuffer(SIGNAL_SLOTS * Int32Array.BYTES_PER_ELEMENT),
      errorText: new SharedArrayBuffer(ERROR_TEXT_BYTES),
    };
    const stats = new Float64Array(data.stats);
    stats[STAT.errorLength] = -1;
    const started = startStoreWorker<FromWriter>({
      script: options.script,
      workerData: data,
      log,
      thread: 'writer',
      errorCode: 'ERR_STORE_WRITE',
      onThread: options.onThread,
      onMessage: options.onMessage,
      onExit(code) {
        generation.ready = false;
        options.onExit(generation.worker, code);
        if (!stopped) lost(generation, code);
      },
    });
    const generation: WriterGeneration = {
      worker: started.worker,
      stats,
      errorText: new Uint8Array(data.errorText),
      signals: new Int32Array(data.signals),
      sent: 0,
      droppedMessagesSent: 0,
      ready: false,
    };
    return started.ready.then(() => {
      generation.ready = true;
      return generation;
    });
  }

  /** A worker died while running: count what it held as dropped and start another. */
  function lost(generation: WriterGeneration, code: number): void {
    const { stats } = generation;
    const unwritten = eventsHeldBy(generation);
    pastWritten += stats[STAT.written]!;
    pastDropped += stats[STAT.dropped]! + unwritten;
    pastWriteErrors += stats[STAT.writeErrors]!;
    current = undefined;
    log.error(
      { code, lostEvents: unwritten, restartInMs: restartDelayMs },
      'block-log writer thread exited; starting a new one',
    );
    scheduleRestart();
  }

  function scheduleRestart(): void {
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      spawn().then(adopt, (err: unknown) => {
        restartDelayMs = Math.min(RESTART_MAX_MS, restartDelayMs * 2);
        log.error(
          { err: errorMessage(err), restartInMs: restartDelayMs },
          'block-log writer thread could not be restarted',
        );
        if (!stopped) scheduleRestart();
      });
    }, restartDelayMs);
    restartTimer.unref();
  }

  function adopt(generation: WriterGeneration): void {
    if (stopped) {
      void generation.worker.terminate();
      return;
    }
    current = generation;
    restartDelayMs = RESTART_MIN_MS;
    options.onAdopt(generation);
  }

  return {
    get current() {
      return current;
    },
    get pastWritten() {
      return pastWritten;
    },
    get pastDropped() {
      return pastDropped;
    },
    get pastWriteErrors() {
      return pastWriteErrors;
    },
    async start() {
      adopt(await spawn());
    },
    stop() {
      stopped = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
    },
  };
}
