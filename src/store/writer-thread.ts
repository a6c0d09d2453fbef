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
 * This file puts the parts together and answers the EventWriter calls: writer-options.ts checks the
 * options, event-posting.ts packs, posts and drops events (dropped-events.ts sums the drops),
 * writer-mailbox.ts posts to the ready thread or holds messages while it restarts,
 * writer-requests.ts matches list-store writes and other requests to the thread's answers, and
 * writer-restarts.ts keeps one thread running (and reads its shared memory).
 */
import type { BlockEvent } from '../dns/block-event.js';
import type { IncidentChange } from '../incidents/incident-state.js';
import type { MinerLogin } from '../honeypot/miner-login.js';
import { createIdentityMirror, type IdentityUpdate } from '../inventory/identity-mirror.js';
import type { Notification } from '../notify/notification.js';
import { initialSinkStatus, type SinkStatus } from '../notify/sink-status.js';
import type { MetaWrite } from './database-identity.js';
import { createEventCoalescer } from './event-coalescer.js';
import { createEventPosting } from './event-posting.js';
import type { HistoryBatch, RetroHuntRequest, RetroHuntResult } from './history-protocol.js';
import type { ListStoreWrite } from './list-store.js';
import type { PoolIpWrite } from './pool-ip-store.js';
import type { EventWriter, EventWriterStats, OutcomeCounts } from './types.js';
import { workerScript } from './worker-support.js';
import { createWriterMailbox } from './writer-mailbox.js';
import { resolveWriterOptions, type WriterThreadOptions } from './writer-options.js';
import { SIGNAL, STAT, type ToWriter } from './writer-protocol.js';
import { createWriterRequests } from './writer-requests.js';
import { createWriterRestarts, waitForSignal } from './writer-restarts.js';

export type { WriterThreadOptions } from './writer-options.js';

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

/** How often ended coalescing windows are closed (at most). */
const COALESCE_SWEEP_MS = 1000;

/** Starts the writer thread; resolves once it has opened the database. Rejects with the worker's PoolsinkError. */
export async function startWriterThread(options: WriterThreadOptions): Promise<WriterThread> {
  const { log } = options;
  const clock = options.clock ?? Date.now;
  const { settings, postBatchSize, postDelayMs, waitTimeoutMs, coalesceWindowMs } = resolveWriterOptions(options);
  let sinkStatus: readonly SinkStatus[] = (options.notify ?? []).map(initialSinkStatus);
  const script = workerScript('writer-worker.js', 'block-log writer thread');

  /** The identity snapshot as last sent, for a restarted thread. */
  const identityMirror = createIdentityMirror();
  let seq = 0;
  let closed = false;
  const isClosed = (): boolean => closed;
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
          requests.settle(message);
          break;
      }
    },
    onExit(worker, code) {
      requests.failSentTo(worker, `the block-log writer thread exited (code ${code}) before the write was confirmed`);
      if (closed) {
        requests.failAll('the block log is closed');
        resolveExited();
      }
    },
    onAdopt(generation) {
      const full = identityMirror.full();
      if (full !== undefined) generation.worker.postMessage({ kind: 'identities', update: full } satisfies ToWriter);
      mailbox.release(generation);
      posting.post();
    },
  });
  const mailbox = createWriterMailbox((id, worker) => requests.sentTo(id, worker));
  const requests = createWriterRequests({ send: (message) => mailbox.send(threads.current, message), isClosed });
  const posting = createEventPosting({
    threads,
    mailbox,
    log,
    clock,
    maxBuffered: settings.maxBuffered,
    postBatchSize,
    postDelayMs,
    isClosed,
  });
  const send = mailbox.send;

  const coalescer =
    coalesceWindowMs > 0 ? createEventCoalescer({ windowMs: coalesceWindowMs, emit: posting.enqueue }) : undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  await threads.start();

  if (coalescer !== undefined) {
    sweepTimer = setInterval(() => coalescer.sweep(clock()), Math.min(COALESCE_SWEEP_MS, coalesceWindowMs));
    sweepTimer.unref();
  }

  return {
    exited,
    record(event: BlockEvent): void {
      if (coalescer === undefined || closed) posting.enqueue(event);
      else coalescer.offer(event);
    },
    addOutcomes(deltas: OutcomeCounts, atMs?: number): void {
      if (closed) return;
      send(threads.current, { kind: 'outcomes', atMs: atMs ?? clock(), deltas });
    },
    get stats(): EventWriterStats {
      const counters = threads.current?.stats;
      const error = posting.lastError();
      return {
        buffered: posting.outstanding(),
        written: threads.pastWritten + (counters?.[STAT.written] ?? 0),
        dropped: posting.droppedHere + threads.pastDropped + (counters?.[STAT.dropped] ?? 0),
        writeErrors: threads.pastWriteErrors + (counters?.[STAT.writeErrors] ?? 0),
        healthy: counters !== undefined && counters[STAT.healthy] === 1,
        ...(error === undefined ? {} : { lastError: error }),
      };
    },
    flush(): void {
      coalescer?.flush();
      posting.post();
      const generation = threads.current;
      if (generation === undefined) {
        log.error(
          { buffered: posting.outstanding() },
          'block log flush: the writer thread is restarting; buffered events are not written',
        );
        return;
      }
      seq += 1;
      send(generation, { kind: 'flush', seq });
      if (!waitForSignal(generation, SIGNAL.flushed, seq, waitTimeoutMs)) {
        log.error(
          { waitedMs: waitTimeoutMs, buffered: posting.outstanding() },
          'block log flush: the writer thread did not finish in time',
        );
      }
    },
    writeListStore: requests.writeListStore,
    writePoolIps: requests.writePoolIps,
    writeMeta: requests.writeMeta,
    changeIncident: requests.changeIncident,
    notify(notification) {
      if (!closed) send(threads.current, { kind: 'notify', notification });
    },
    notifyStatus: () => sinkStatus,
    recordMinerLogin(login) {
      if (closed) return;
      // The host's lookups first (logins are rare: at most 50 a second), so they open its incident.
      coalescer?.flush();
      posting.post();
      send(threads.current, { kind: 'minerLogin', login });
    },
    recordHistory(batch) {
      // Best effort: while the thread restarts, history batches are not held (they are unbounded).
      const generation = threads.current;
      if (!closed && generation?.ready === true) send(generation, { kind: 'history', batch });
    },
    retroHunt: requests.retroHunt,
    setIdentities(update: IdentityUpdate): void {
      if (closed) return;
      identityMirror.apply(update);
      posting.post();
      send(threads.current, { kind: 'identities', update });
    },
    close(): void {
      if (closed) return;
      clearInterval(sweepTimer);
      coalescer?.flush();
      posting.post();
      closed = true;
      threads.stop();
      const generation = threads.current;
      if (generation === undefined) {
        requests.failAll('the block log closed while its writer thread was restarting');
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
          { waitedMs: waitTimeoutMs, buffered: posting.outstanding() },
          'block log close: the writer thread did not finish in time; leaving it to end with the process',
        );
        generation.worker.unref();
        resolveExited();
      }
    },
  };
}
