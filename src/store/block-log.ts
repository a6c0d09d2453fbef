/**
 * The block log's writing side as main.ts starts it: the event writer and the pruner. For a
 * database file they run in a worker thread with their own connection (writer-thread.ts), so SQLite
 * work never pauses DNS answers. An in-memory database (`:memory:`) cannot be shared with another
 * thread; there they run on the DNS thread in small transactions instead.
 */
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config/types.js';
import { isMemoryPath, type StoreConnection } from './database.js';
import { createEventWriter } from './event-writer.js';
import { createPruner } from './retention.js';
import type { EventWriter } from './types.js';
import { startWriterThread } from './writer-thread.js';

export interface BlockLogOptions {
  /** The DNS thread's connection (reopened when the writer thread reopens a replaced file). */
  readonly connection: StoreConnection;
  readonly database: DatabaseConfig;
  readonly log: Logger;
  readonly clock?: () => number;
}

export interface BlockLog {
  readonly writer: EventWriter;
  /** 'thread' or, for `:memory:`, 'inline'. */
  readonly mode: 'thread' | 'inline';
  /** Starts pruning (the thread prunes from its start). */
  start(): void;
  /** Writes everything buffered and stops the writer and the pruner. */
  close(): Promise<void>;
}

/**
 * Events per transaction on the DNS thread: each write pauses answers, so its size bounds the
 * pause (about 30-65 µs per event on a large log on a slow machine: 500 events ≈ 15-30 ms).
 */
const INLINE_BATCH_EVENTS = 500;

export async function startBlockLog(options: BlockLogOptions): Promise<BlockLog> {
  const { connection, database, log } = options;
  const clock = options.clock !== undefined ? { clock: options.clock } : {};
  if (!isMemoryPath(connection.path)) {
    const writer = await startWriterThread({
      path: connection.path,
      log,
      retentionDays: database.retentionDays,
      maxEvents: database.maxEvents,
      flushIntervalMs: database.flushIntervalMs,
      maxBuffered: database.maxBufferedEvents,
      onReopened: () => {
        if (connection.fileReplaced()) connection.reopen();
      },
      ...clock,
    });
    return {
      writer,
      mode: 'thread',
      start(): void {
        // The thread started pruning when it opened the database.
      },
      async close(): Promise<void> {
        writer.close();
        await writer.exited;
      },
    };
  }
  const writer = createEventWriter({
    connection,
    log,
    flushIntervalMs: database.flushIntervalMs,
    maxBuffered: database.maxBufferedEvents,
    batchSize: INLINE_BATCH_EVENTS,
    maxBatchSize: INLINE_BATCH_EVENTS,
    ...clock,
  });
  const pruner = createPruner({ connection, log, retentionDays: database.retentionDays, maxEvents: database.maxEvents, ...clock });
  return {
    writer,
    mode: 'inline',
    start(): void {
      pruner.start();
    },
    async close(): Promise<void> {
      await pruner.stop();
      writer.close();
    },
  };
}
