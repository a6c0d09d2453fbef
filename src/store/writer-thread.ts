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
 *
 * This file posts events and answers the EventWriter calls; its parts: writer-restarts.ts keeps one
 * thread running (and reads its shared memory), dropped-events.ts sums the events dropped here until
 * they are sent, and worker-channel.ts matches list-store writes to the thread's answers.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ListStoreWrite } from './list-store.js';
import type { PoolIpWrite } from './pool-ip-store.js';
import type { MetaWrite } from './database-identity.js';
import type { BlockEvent } from '../dns/block-event.js';
import type { NotifySinkConfig } from '../config/types.js';
import type { Notification } from '../notify/notification.js';
import { initialSinkStatus, type SinkStatus } from '../notify/sink-status.js';
import { PoolsinkError, isErrorCode } from '../errors.js';
import { createDroppedEvents } from './dropped-events.js';
import { createEventEncoder } from './event-codec.js';
import { createEventCoalescer } from './event-coalescer.js';
import { EVENT_BATCH_SIZE, FLUSH_INTERVAL_MS, MAX_BUFFERED_EVENTS } from '../config/defaults.js';
import { positiveInteger } from './option-checks.js';
import type { EventWriter, EventWriterStats, OutcomeCounts } from './types.js';
import { createWorkerChannel } from './worker-channel.js';
import { workerScript } from './worker-support.js';
import type { IncidentChange } from '../incidents/incident-state.js';
import {
  SIGNAL,
  STAT,
  type IncidentSettings,
  type ToWriter,
  type WriterSqliteSettings,
  type WriterThreadSettings,
} from './writer-protocol.js';
import { createIdentityMirror, type IdentityUpdate } from '../inventory/identity-mirror.js';
import type { MinerLogin } from '../honeypot/miner-login.js';
import type { HistoryBatch, RetroHuntRequest, RetroHuntResult } from './history-protocol.js';
import {
  createWriterRestarts,
  eventsHeldBy,
  lastWriteError,
  waitForSignal,
  type WriterGeneration,
} from './writer-restarts.js';

export interface WriterThreadOptions {
  readonly path: string;
  readonly log: Logger;
  readonly retentionDays: number;
  readonly maxEvents: number;
  /** Distinct names kept per host (database.maxNamesPerHost); default MAX_NAMES_PER_HOST. */
  readonly maxNamesPerHost?: number;
  /** How often the worker writes buffered events. Default FLUSH_INTERVAL_MS (250). */
  readonly flushIntervalMs?: number;
  /** Events per transaction in the worker (a write starts once this many wait). Default EVENT_BATCH_SIZE (500). */
  readonly batchSize?: number;
  /** Events per transaction while a backlog waits. Default WRITER_MAX_BATCH_SIZE (100,000). */
  readonly maxBatchSize?: number;
  /** Distinct rollup keys summed before they are written regardless of the interval. Default WRITER_MAX_ROLLUP_KEYS. */
  readonly maxRollupKeys?: number;
  /** Events held at most across both threads; more are dropped and counted. Default MAX_BUFFERED_EVENTS (400,000). */
  readonly maxBuffered?: number;
  readonly pruneIntervalMs?: number;
  /** The writer connection's SQLite page cache, mmap and checkpoint size (database.ts defaults when absent). */
  readonly sqlite?: WriterSqliteSettings;
  /** Events packed before they are posted. Default 512. */
  readonly postBatchSize?: number;
  /** The longest a packed event waits before it is posted. Default 10. */
  readonly postDelayMs?: number;
  /**
   * Repeats of one (client, name, type, list, action) within this window are one row with a count
   * (event-coalescer.ts); 0 (the default here; the config's is 10 s): a row per event.
   */
  readonly coalesceWindowMs?: number;
  /** The longest flush() and close() wait for the worker. Default 30,000. */
  readonly waitTimeoutMs?: number;
  /** Called after the worker reopened a deleted or replaced database file. */
  readonly onReopened?: () => void;
  /** Called with client addresses the writer recorded events for without an identity (reverse DNS asks for them). */
  readonly onIdentityMisses?: (clientIps: readonly string[]) => void;
  /** Called with each thread started (the first and any restart); tests use it to stop one. */
  readonly onThread?: (worker: Worker) => void;
  /** Time of drops and of outcomes given without one. Default Date.now. */
  readonly clock?: () => number;
  /** Incidents kept from the events (src/incidents/); absent: none. */
  readonly incidents?: IncidentSettings;
  /** Notification sinks, delivered from the writer thread (src/notify/). */
  readonly notify?: readonly NotifySinkConfig[];
  /** The query history for retro-hunts (history.*); absent: off. */
  readonly history?: WriterThreadSettings['history'];
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
  /** Writes learned pool addresses in the writer thread; as writeListStore. */
  writePoolIps(write: PoolIpWrite): Promise<void>;
  /** Writes this database's fleet key space claim (database-identity.ts); as writeListStore. */
  writeMeta(write: MetaWrite): Promise<void>;
  /** An operator's acknowledge or resolve, applied in the writer thread: ERR_NOT_FOUND, ERR_CONFLICT. */
  changeIncident(change: IncidentChange): Promise<void>;
  /** Hands a notification to the writer thread's outbox (held while the thread restarts). */
  notify(notification: Notification): void;
  /** The sinks' last reported state (configured sinks as `ok`, queue 0, until the thread reports). */
  notifyStatus(): readonly SinkStatus[];
  /**
   * Changes the writer's identity snapshot. Events recorded before the call are posted first, so
   * they keep the identities of their time; a restarted thread gets the whole snapshot again.
   */
  setIdentities(update: IdentityUpdate): void;
  /** Stores a honeypot login and escalates the host's incident (held while the thread restarts). */
  recordMinerLogin(login: MinerLogin): void;
  /** A batch of the query history (history-recorder.ts), written in the writer thread. */
  recordHistory(batch: HistoryBatch): void;
  /** Searches the query history (and records incidents when asked): history-worker.ts. */
  retroHunt(request: RetroHuntRequest): Promise<RetroHuntResult>;
}

const WARN_INTERVAL_MS = 60_000;
/**
 * Events per transaction while a backlog waits. On a large log each transaction dirties about one
 * index page per distinct client and name in it, whatever its size, so larger ones write fewer pages
 * per event: measured on a 1M-event log with the store bench's 5,000 hosts, 34 µs per row at 50,000
 * against 57 at 10,000; on a 10M-event log, the INSERT and its indexes 14-17 µs per event at 100,000
 * against 19-24 at 40,000, and 40,000 events/s for 10 s drained 3.7-5.2 s after the last event
 * against 6.4-7.0 at 50,000. Each such transaction holds this thread for a few seconds; the DNS
 * thread never waits for it, and readers read their WAL snapshot.
 */
const WRITER_MAX_BATCH_SIZE = 100_000;
/**
 * Rollup keys (host, host and name, hour ...) summed before they are written regardless of the
 * 5 s interval. Their upserts land on scattered pages of host_domains and the hourly tables, so the
 * cost per event falls with the events summed per write: measured on a 10M-event log, 20 µs per
 * event with a write every 40,000 events (about 45,000 keys, the old cap of 50,000) against 9-11
 * every 100,000 (the store bench's 5,000 hosts: 45,000 keys per 40,000 events, 100,000 per 200,000).
 * At 40,000 events/s the interval, not this cap, then decides; a key costs the writer thread about
 * 120 bytes while it waits (30 MB at the cap).
 */
const WRITER_MAX_ROLLUP_KEYS = 250_000;
/** Dropped events are summed here, and sent at the latest this long after the first. */
const DROPS_SEND_MS = 60_000;
/** How often ended coalescing windows are closed (at most). */
const COALESCE_SWEEP_MS = 1000;

/** Starts the writer thread; resolves once it has opened the database. Rejects with the worker's PoolsinkError. */
export async function startWriterThread(options: WriterThreadOptions): Promise<WriterThread> {
  const { log } = options;
  const clock = options.clock ?? Date.now;
  const settings: WriterThreadSettings = {
    path: options.path,
    logLevel: log.level,
    flushIntervalMs: positiveInteger('writer thread', 'flushIntervalMs', options.flushIntervalMs ?? FLUSH_INTERVAL_MS),
    batchSize: positiveInteger('writer thread', 'batchSize', options.batchSize ?? EVENT_BATCH_SIZE),
    maxBatchSize: positiveInteger('writer thread', 'maxBatchSize', options.maxBatchSize ?? WRITER_MAX_BATCH_SIZE),
    maxRollupKeys: positiveInteger('writer thread', 'maxRollupKeys', options.maxRollupKeys ?? WRITER_MAX_ROLLUP_KEYS),
    maxBuffered: positiveInteger('writer thread', 'maxBuffered', options.maxBuffered ?? MAX_BUFFERED_EVENTS),
    retentionDays: options.retentionDays,
    maxEvents: options.maxEvents,
    ...(options.maxNamesPerHost !== undefined ? { maxNamesPerHost: options.maxNamesPerHost } : {}),
    ...(options.pruneIntervalMs !== undefined ? { pruneIntervalMs: options.pruneIntervalMs } : {}),
    ...(options.sqlite !== undefined ? { sqlite: options.sqlite } : {}),
    ...(options.incidents !== undefined ? { incidents: options.incidents } : {}),
    ...(options.notify !== undefined ? { notify: options.notify } : {}),
    ...(options.history !== undefined ? { history: options.history } : {}),
  };
  let sinkStatus: readonly SinkStatus[] = (options.notify ?? []).map(initialSinkStatus);
  const postBatchSize = positiveInteger('writer thread', 'postBatchSize', options.postBatchSize ?? 512);
  const postDelayMs = positiveInteger('writer thread', 'postDelayMs', options.postDelayMs ?? 10);
  const waitTimeoutMs = positiveInteger('writer thread', 'waitTimeoutMs', options.waitTimeoutMs ?? 30_000);
  const script = workerScript('writer-worker.js', 'block-log writer thread');

  const encoder = createEventEncoder(postBatchSize);
  const dropped = createDroppedEvents();
  /** List-store writes and incident changes waiting for the thread's answer. */
  const listWrites = createWorkerChannel('ERR_STORE_WRITE');
  /** The identity snapshot as last sent, for a restarted thread. */
  const identityMirror = createIdentityMirror();
  /** Messages held while no worker is ready (restarting). */
  let queued: ToWriter[] = [];
  let queuedEvents = 0;
  let droppedHere = 0;
  let droppedSinceWarn = 0;
  let lastDropWarnMs = Number.NEGATIVE_INFINITY;
  let postTimer: NodeJS.Timeout | undefined;
  let seq = 0;
  let closed = false;
  let resolveExited: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => {
    resolveExited = resolve;
  });

  const threads = createWriterRestarts({
    script,
    settings,
    log,
    onThread: options.onThread,
    onMessage(message) {
      switch (message.kind) {
        case 'reopened':
          options.onReopened?.();
          break;
        case 'notifyStatus':
          sinkStatus = message.sinks;
          break;
        case 'identityMisses':
          options.onIdentityMisses?.(message.clientIps);
          break;
        case 'retroHunted':
        case 'listStored':
        case 'incidentChanged':
          if (message.code === undefined)
            listWrites.resolve(message.id, message.kind === 'retroHunted' ? message.result : undefined);
          else {
            const code = isErrorCode(message.code) ? message.code : 'ERR_STORE_WRITE';
            listWrites.reject(message.id, new PoolsinkError(code, message.message ?? ''));
          }
          break;
      }
    },
    onExit(worker, code) {
      listWrites.failSentTo(worker, `the block-log writer thread exited (code ${code}) before the write was confirmed`);
      if (closed) {
        listWrites.failAll('the block log is closed');
        resolveExited();
      }
    },
    onAdopt(generation) {
      const full = identityMirror.full();
      if (full !== undefined) generation.worker.postMessage({ kind: 'identities', update: full } satisfies ToWriter);
      const held = queued.filter((message) => message.kind !== 'identities');
      queued = [];
      queuedEvents = 0;
      for (const message of held) send(generation, message);
      postEvents();
    },
  });

  function send(generation: WriterGeneration | undefined, message: ToWriter): void {
    if (generation?.ready === true) {
      generation.worker.postMessage(message);
      if (message.kind === 'events') generation.sent += message.batch.count;
      else if (
        message.kind === 'listStore' ||
        message.kind === 'incident' ||
        message.kind === 'retroHunt' ||
        message.kind === 'poolIps' ||
        message.kind === 'meta'
      )
        listWrites.sentTo(message.id, generation.worker);
      return;
    }
    queued.push(message);
    if (message.kind === 'events') queuedEvents += message.batch.count;
  }

  /**
   * Sends the drop count and tallies to a running thread that has taken the previous ones: a starved
   * thread's queue must not grow with them. Meanwhile they stay summed here (bounded).
   */
  function sendDrops(): void {
    const generation = threads.current;
    if (generation?.ready !== true || dropped.unsent === 0) return;
    if (generation.droppedMessagesSent > generation.stats[STAT.droppedMessages]!) {
      schedulePost();
      return;
    }
    send(generation, dropped.take());
    generation.droppedMessagesSent += 1;
  }

  function postEvents(): void {
    if (postTimer !== undefined) {
      clearTimeout(postTimer);
      postTimer = undefined;
    }
    if (encoder.count > 0) send(threads.current, { kind: 'events', batch: encoder.take() });
    sendDrops();
  }

  function schedulePost(): void {
    if (postTimer === undefined) {
      postTimer = setTimeout(postEvents, postDelayMs);
      postTimer.unref();
    }
  }

  function drop(event: BlockEvent): void {
    const n = event.count ?? 1;
    droppedHere += n;
    droppedSinceWarn += n;
    const now = clock();
    // Summed here and sent with the next batch: a message per drop would cost most in a flood.
    if (!closed) {
      if (dropped.unsent > 0 && now - dropped.unsentSinceMs >= DROPS_SEND_MS) sendDrops();
      dropped.add(event, now);
      schedulePost();
    }
    if (now - lastDropWarnMs >= WARN_INTERVAL_MS) {
      log.warn(
        {
          dropped: droppedSinceWarn,
          droppedTotal: droppedHere,
          untallied: dropped.untallied,
          buffered: outstanding(),
          maxBuffered: settings.maxBuffered,
          lastError: lastError(),
        },
        'block log buffer full: dropping events until the writer catches up (they still count in host and domain summaries)',
      );
      lastDropWarnMs = now;
      droppedSinceWarn = 0;
    }
  }

  function lastError(): string | undefined {
    const generation = threads.current;
    return generation === undefined ? undefined : lastWriteError(generation);
  }

  function outstanding(): number {
    const generation = threads.current;
    const inWorker = generation === undefined ? 0 : eventsHeldBy(generation);
    return encoder.count + queuedEvents + inWorker;
  }

  /** Packs an event for the thread, or drops it (buffer full). */
  function enqueue(event: BlockEvent): void {
    if (closed || outstanding() >= settings.maxBuffered) {
      drop(event);
      return;
    }
    encoder.add(event);
    if (encoder.count >= postBatchSize) postEvents();
    else schedulePost();
  }

  const coalesceWindowMs = options.coalesceWindowMs ?? 0;
  const coalescer =
    coalesceWindowMs > 0 ? createEventCoalescer({ windowMs: coalesceWindowMs, emit: enqueue }) : undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  await threads.start();

  if (coalescer !== undefined) {
    sweepTimer = setInterval(() => coalescer.sweep(clock()), Math.min(COALESCE_SWEEP_MS, coalesceWindowMs));
    sweepTimer.unref();
  }

  return {
    exited,
    record(event: BlockEvent): void {
      if (coalescer === undefined || closed) enqueue(event);
      else coalescer.offer(event);
    },
    addOutcomes(deltas: OutcomeCounts, atMs?: number): void {
      if (closed) return;
      send(threads.current, { kind: 'outcomes', atMs: atMs ?? clock(), deltas });
    },
    get stats(): EventWriterStats {
      const counters = threads.current?.stats;
      const error = lastError();
      return {
        buffered: outstanding(),
        written: threads.pastWritten + (counters?.[STAT.written] ?? 0),
        dropped: droppedHere + threads.pastDropped + (counters?.[STAT.dropped] ?? 0),
        writeErrors: threads.pastWriteErrors + (counters?.[STAT.writeErrors] ?? 0),
        healthy: counters !== undefined && counters[STAT.healthy] === 1,
        ...(error === undefined ? {} : { lastError: error }),
      };
    },
    flush(): void {
      coalescer?.flush();
      postEvents();
      const generation = threads.current;
      if (generation === undefined) {
        log.error(
          { buffered: outstanding() },
          'block log flush: the writer thread is restarting; buffered events are not written',
        );
        return;
      }
      seq += 1;
      send(generation, { kind: 'flush', seq });
      if (!waitForSignal(generation, SIGNAL.flushed, seq, waitTimeoutMs)) {
        log.error(
          { waitedMs: waitTimeoutMs, buffered: outstanding() },
          'block log flush: the writer thread did not finish in time',
        );
      }
    },
    writeListStore(write) {
      if (closed) return Promise.reject(new PoolsinkError('ERR_STORE_WRITE', 'the block log is closed'));
      const { id, reply } = listWrites.open<void>();
      send(threads.current, { kind: 'listStore', id, write });
      return reply;
    },
    writePoolIps(write) {
      if (closed) return Promise.reject(new PoolsinkError('ERR_STORE_WRITE', 'the block log is closed'));
      const { id, reply } = listWrites.open<void>();
      send(threads.current, { kind: 'poolIps', id, write });
      return reply;
    },
    writeMeta(write) {
      if (closed) return Promise.reject(new PoolsinkError('ERR_STORE_WRITE', 'the block log is closed'));
      const { id, reply } = listWrites.open<void>();
      send(threads.current, { kind: 'meta', id, write });
      return reply;
    },
    changeIncident(change) {
      if (closed) return Promise.reject(new PoolsinkError('ERR_STORE_WRITE', 'the block log is closed'));
      const { id, reply } = listWrites.open<void>();
      send(threads.current, { kind: 'incident', id, change });
      return reply;
    },
    notify(notification) {
      if (!closed) send(threads.current, { kind: 'notify', notification });
    },
    notifyStatus: () => sinkStatus,
    recordMinerLogin(login) {
      if (closed) return;
      // The host's lookups first (logins are rare: at most 50 a second), so they open its incident.
      coalescer?.flush();
      postEvents();
      send(threads.current, { kind: 'minerLogin', login });
    },
    recordHistory(batch) {
      // Best effort: while the thread restarts, history batches are not held (they are unbounded).
      const generation = threads.current;
      if (!closed && generation?.ready === true) send(generation, { kind: 'history', batch });
    },
    retroHunt(request) {
      if (closed) return Promise.reject(new PoolsinkError('ERR_STORE_WRITE', 'the block log is closed'));
      const { id, reply } = listWrites.open<RetroHuntResult>();
      send(threads.current, { kind: 'retroHunt', id, request });
      return reply;
    },
    setIdentities(update: IdentityUpdate): void {
      if (closed) return;
      identityMirror.apply(update);
      postEvents();
      send(threads.current, { kind: 'identities', update });
    },
    close(): void {
      if (closed) return;
      clearInterval(sweepTimer);
      coalescer?.flush();
      postEvents();
      closed = true;
      threads.stop();
      const generation = threads.current;
      if (generation === undefined) {
        listWrites.failAll('the block log closed while its writer thread was restarting');
        resolveExited();
        return;
      }
      // Until it has exited, the thread keeps the process alive (its last log lines are on the way).
      generation.worker.ref();
      seq += 1;
      send(generation, { kind: 'close', seq });
      if (!waitForSignal(generation, SIGNAL.closed, seq, waitTimeoutMs)) {
        // Not Worker.terminate(): during a SQLite call that then throws it aborts the whole process.
        // Unref'd, the thread ends with the process, whatever it still holds counted as unwritten.
        log.error(
          { waitedMs: waitTimeoutMs, buffered: outstanding() },
          'block log close: the writer thread did not finish in time; leaving it to end with the process',
        );
        generation.worker.unref();
        resolveExited();
      }
    },
  };
}
