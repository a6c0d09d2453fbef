/**
 * The writer thread's options (writer-thread.ts): what a caller may set, checked once and filled in
 * with the defaults, split into the thread's settings (writer-protocol.ts, sent to writer-worker.ts)
 * and the settings of the posting side that stays on the DNS thread.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { NotifySinkConfig } from '../config/types.js';
import { EVENT_BATCH_SIZE, FLUSH_INTERVAL_MS, MAX_BUFFERED_EVENTS } from '../config/defaults.js';
import { positiveInteger } from './option-checks.js';
import type { IncidentSettings, WriterSqliteSettings, WriterThreadSettings } from './writer-protocol.js';

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

/** The options checked and filled in: the thread's settings and those of the posting side. */
export interface ResolvedWriterOptions {
  readonly settings: WriterThreadSettings;
  readonly postBatchSize: number;
  readonly postDelayMs: number;
  readonly waitTimeoutMs: number;
  readonly coalesceWindowMs: number;
}

/** Checks `options` (ERR_CONFIG_INVALID naming the option) and fills in the defaults. */
export function resolveWriterOptions(options: WriterThreadOptions): ResolvedWriterOptions {
  const settings: WriterThreadSettings = {
    path: options.path,
    logLevel: options.log.level,
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
  return {
    settings,
    postBatchSize: positiveInteger('writer thread', 'postBatchSize', options.postBatchSize ?? 512),
    postDelayMs: positiveInteger('writer thread', 'postDelayMs', options.postDelayMs ?? 10),
    waitTimeoutMs: positiveInteger('writer thread', 'waitTimeoutMs', options.waitTimeoutMs ?? 30_000),
    coalesceWindowMs: options.coalesceWindowMs ?? 0,
  };
}
