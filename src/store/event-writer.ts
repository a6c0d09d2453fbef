/**
 * The block log's writer, as the writer thread (writer-worker.ts) runs it; the DNS thread talks to
 * it through writer-thread.ts. record() appends the event to a bounded array and returns; it never
 * touches the disk, allocates nothing of its own, and never throws. Batches are written every flushIntervalMs or as soon as batchSize events wait
 * (scheduled with setImmediate), each batch in one transaction with one prepared INSERT per event
 * (batch-writer.ts). Written events are summed into in-memory rollups (host summaries, hourly
 * counts). Few rollup rows go out with the next batch; many (a busy network) wait up to
 * rollupIntervalMs, so each host and domain is upserted once per interval rather than once per
 * batch: under load the rollups cost more than the events themselves otherwise. flush() writes
 * everything, rollups included.
 *
 * When a write fails (disk full, file read-only, I/O error) the batch stays buffered and the timer
 * retries it, backing off from every tick to every 5 s while failures go on; the buffer keeps its cap, so events beyond it are dropped and counted (and
 * recorded under EVENTS_DROPPED_OUTCOME once writing works again). SQLite keeps writing into a
 * database file that was deleted while open, so before each batch the writer checks that the path
 * still names the open file and reopens it if not.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import {
  addEvents,
  addOutcome,
  addTallies,
  createBatchWriter,
  createRollups,
  rollupsEmpty,
  type EventBatchHook,
  type EventTally,
} from './batch-writer.js';
import { preparedFor, sqliteCode, type StoreConnection } from './database.js';
import { EVENT_BATCH_SIZE, FLUSH_INTERVAL_MS, MAX_BUFFERED_EVENTS } from '../config/defaults.js';
import { positiveInteger } from './option-checks.js';
import { EVENTS_DROPPED_OUTCOME, minuteOf } from './schema.js';
import type { EventWriter, EventWriterStats, OutcomeCounts, RecordedEvent } from './types.js';

export interface EventWriterOptions {
  readonly connection: StoreConnection;
  readonly log: Logger;
  /** How often buffered events are written. Default FLUSH_INTERVAL_MS (250). */
  readonly flushIntervalMs?: number;
  /** Events per transaction; reaching it also schedules a write. Default EVENT_BATCH_SIZE (500). */
  readonly batchSize?: number;
  /**
   * Events per transaction while a backlog waits (more than two batches buffered). A transaction
   * costs about one page write per distinct host and name in it, so larger ones write far fewer
   * pages per event when the disk falls behind; each still blocks the event loop while it runs.
   * Default 5 × batchSize.
   */
  readonly maxBatchSize?: number;
  /** Events held in memory at most; more are dropped and counted. Default MAX_BUFFERED_EVENTS (400,000). */
  readonly maxBuffered?: number;
  /**
   * The longest the rollups (host summaries, hourly counts, outcome minutes) summed in memory wait
   * before they go out with a batch, once they hold more than `eagerRollupKeys` keys; fewer go out
   * with the next batch. Default 5000; flush() always writes them.
   */
  readonly rollupIntervalMs?: number;
  /** Rollup keys up to which rollups are written with every batch. Default 1000. */
  readonly eagerRollupKeys?: number;
  /** Distinct rollup keys held before they are written regardless of the interval. Default 50,000. */
  readonly maxRollupKeys?: number;
  /**
   * The share of each flush interval that back-to-back batches may take (see drainStep). Default
   * 0.5, for a writer sharing its thread with other work; the writer thread, which starves
   * nothing, uses 1.
   */
  readonly writeShare?: number;
  readonly clock?: () => number;
  /** Runs in each batch's transaction (incidents). */
  readonly batchHook?: EventBatchHook;
  /** Distinct names kept per host (database.maxNamesPerHost); default MAX_NAMES_PER_HOST. */
  readonly maxNamesPerHost?: number;
}

const WARN_INTERVAL_MS = 60_000;
const MAX_RETRY_INTERVAL_MS = 5000;

/** The writer as the writer thread runs it. */
export interface InProcessEventWriter extends EventWriter {
  /** Records an event, with its client's identity when the writer thread knows one. */
  record(event: RecordedEvent): void;
  /** Counts events that were dropped before they got here in the summaries and rollups (no rows). */
  addTallies(tallies: readonly EventTally[]): void;
}

export function createEventWriter(options: EventWriterOptions): InProcessEventWriter {
  const { connection, log } = options;
  const flushIntervalMs = positiveInteger(
    'event writer',
    'flushIntervalMs',
    options.flushIntervalMs ?? FLUSH_INTERVAL_MS,
  );
  const batchSize = positiveInteger('event writer', 'batchSize', options.batchSize ?? EVENT_BATCH_SIZE);
  const maxBatchSize = Math.max(
    batchSize,
    positiveInteger('event writer', 'maxBatchSize', options.maxBatchSize ?? batchSize * 5),
  );
  const maxBuffered = positiveInteger('event writer', 'maxBuffered', options.maxBuffered ?? MAX_BUFFERED_EVENTS);
  const rollupIntervalMs = options.rollupIntervalMs ?? 5000;
  if (!Number.isInteger(rollupIntervalMs) || rollupIntervalMs < 0) {
    throw new PoolsinkError(
      'ERR_CONFIG_INVALID',
      `event writer: rollupIntervalMs must be a non-negative integer (got ${rollupIntervalMs})`,
    );
  }
  const maxRollupKeys = positiveInteger('event writer', 'maxRollupKeys', options.maxRollupKeys ?? 50_000);
  const eagerRollupKeys = options.eagerRollupKeys ?? 1000;
  if (!Number.isInteger(eagerRollupKeys) || eagerRollupKeys < 0) {
    throw new PoolsinkError(
      'ERR_CONFIG_INVALID',
      `event writer: eagerRollupKeys must be a non-negative integer (got ${eagerRollupKeys})`,
    );
  }
  const writeShare = options.writeShare ?? 0.5;
  if (!Number.isFinite(writeShare) || writeShare <= 0 || writeShare > 1) {
    throw new PoolsinkError(
      'ERR_CONFIG_INVALID',
      `event writer: writeShare must be above 0 and at most 1 (got ${writeShare})`,
    );
  }
  const clock = options.clock ?? Date.now;
  const limits = options.maxNamesPerHost === undefined ? {} : { maxNamesPerHost: options.maxNamesPerHost };
  const statements = preparedFor(connection, (db) => createBatchWriter(db, options.batchHook, limits));

  let buffer: RecordedEvent[] = [];
  let rollups = createRollups();
  let lastRollupWriteMs = clock();
  let written = 0;
  let dropped = 0;
  let writeErrors = 0;
  let consecutiveFailures = 0;
  let healthy = true;
  let lastError: string | undefined;
  let lastFailureWarnMs = Number.NEGATIVE_INFINITY;
  /** While writes fail, the timer retries no sooner than this (backing off to MAX_RETRY_INTERVAL_MS). */
  let nextRetryMs = Number.NEGATIVE_INFINITY;
  let lastDropWarnMs = Number.NEGATIVE_INFINITY;
  let droppedSinceWarn = 0;
  let drainScheduled = false;
  let closed = false;

  function drop(n: number): void {
    dropped += n;
    droppedSinceWarn += n;
    const now = clock();
    addOutcome(rollups, minuteOf(now), EVENTS_DROPPED_OUTCOME, n);
    if (now - lastDropWarnMs >= WARN_INTERVAL_MS) {
      log.warn(
        { dropped: droppedSinceWarn, droppedTotal: dropped, buffered: buffer.length, maxBuffered, lastError },
        'block log buffer full: dropping events until the writer catches up',
      );
      lastDropWarnMs = now;
      droppedSinceWarn = 0;
    }
  }

  function fail(err: unknown, during: string): void {
    writeErrors += 1;
    consecutiveFailures += 1;
    healthy = false;
    const code = sqliteCode(err);
    lastError = code === undefined ? errorMessage(err) : `${code}: ${errorMessage(err)}`;
    const now = clock();
    nextRetryMs = now + Math.min(MAX_RETRY_INTERVAL_MS, flushIntervalMs * 2 ** Math.min(consecutiveFailures - 1, 16));
    if (consecutiveFailures === 1 || now - lastFailureWarnMs >= WARN_INTERVAL_MS) {
      log.warn(
        { path: connection.path, during, err: lastError, failures: consecutiveFailures, buffered: buffer.length },
        'block log write failed; events stay buffered and are retried',
      );
      lastFailureWarnMs = now;
    }
  }

  /** Reopens the database if its file was deleted or replaced; false when that failed. */
  function ensureAttached(): boolean {
    if (!connection.fileReplaced()) return true;
    try {
      connection.reopen();
    } catch (err: unknown) {
      fail(err, 'reopen');
      return false;
    }
    log.warn({ path: connection.path }, 'database file was deleted or replaced while open; reopened the path');
    return true;
  }

  /**
   * Writes one batch, with the rollups when they are due (or `withRollups`); false when the write
   * failed, and then nothing changed. The batch's own events join the rollups only once written.
   */
  function writeBatch(withRollups: boolean): boolean {
    // A backlog goes out in larger transactions, unless writes are failing: a retry risks little.
    const size = healthy && buffer.length > 2 * batchSize ? maxBatchSize : batchSize;
    const end = Math.min(buffer.length, size);
    const now = clock();
    const rollupsDue =
      !rollupsEmpty(rollups) &&
      (withRollups ||
        rollups.keys <= eagerRollupKeys ||
        rollups.keys >= maxRollupKeys ||
        now - lastRollupWriteMs >= rollupIntervalMs);
    if (end === 0 && !rollupsDue) return true;
    try {
      statements().write(buffer, 0, end, rollupsDue ? rollups : undefined);
    } catch (err: unknown) {
      fail(err, 'write');
      return false;
    }
    if (rollupsDue) {
      rollups = createRollups();
      lastRollupWriteMs = now;
    }
    addEvents(rollups, buffer, 0, end);
    if (end === buffer.length) buffer = [];
    else buffer.splice(0, end);
    written += end;
    if (!healthy) {
      log.info(
        { path: connection.path, failures: consecutiveFailures, buffered: buffer.length },
        'block log writes resumed',
      );
      healthy = true;
    }
    consecutiveFailures = 0;
    return true;
  }

  /**
   * DNS first: within each flush interval, back-to-back batches may take at most writeShare of
   * the time; past it the rest waits for the next tick (and, if the buffer fills, is dropped and
   * counted) rather than starving the listeners, which read only a few datagrams per turn.
   */
  let windowStartMs = 0;
  let windowSpentMs = 0;

  function drainStep(): void {
    drainScheduled = false;
    if (closed || (!healthy && clock() < nextRetryMs)) return;
    const started = performance.now();
    if (started - windowStartMs >= flushIntervalMs) {
      windowStartMs = started;
      windowSpentMs = 0;
    }
    if (!ensureAttached() || !writeBatch(false)) return;
    windowSpentMs += performance.now() - started;
    // Full batches go on at once (yielding between them) while the budget lasts; a partial one
    // waits for the next tick.
    if (buffer.length >= batchSize && windowSpentMs < flushIntervalMs * writeShare) {
      drainScheduled = true;
      setImmediate(drainStep);
    }
  }

  function tick(): void {
    if (!drainScheduled) drainStep();
  }

  function flush(): void {
    if (!ensureAttached()) return;
    while (buffer.length > 0 || !rollupsEmpty(rollups)) {
      if (!writeBatch(true)) {
        log.error(
          { path: connection.path, buffered: buffer.length, err: lastError },
          'block log flush failed; buffered events are not written',
        );
        return;
      }
    }
  }

  const timer = setInterval(tick, flushIntervalMs);
  timer.unref();

  return {
    record(event: RecordedEvent): void {
      if (buffer.length >= maxBuffered || closed) {
        drop(event.count ?? 1);
        return;
      }
      buffer.push(event);
      if (buffer.length >= batchSize && !drainScheduled && healthy) {
        drainScheduled = true;
        setImmediate(drainStep);
      }
    },
    addOutcomes(deltas: OutcomeCounts, atMs?: number): void {
      const minute = minuteOf(atMs ?? clock());
      for (const outcome of Object.keys(deltas)) {
        const count = deltas[outcome];
        if (count !== undefined && Number.isFinite(count) && count > 0) addOutcome(rollups, minute, outcome, count);
      }
    },
    addTallies(tallies: readonly EventTally[]): void {
      addTallies(rollups, tallies);
    },
    get stats(): EventWriterStats {
      return {
        buffered: buffer.length,
        written,
        dropped,
        writeErrors,
        healthy,
        ...(lastError === undefined ? {} : { lastError }),
      };
    },
    flush,
    close(): void {
      if (closed) return;
      flush();
      closed = true;
      clearInterval(timer);
    },
  };
}
