/**
 * The block log assembled for the server: one connection, the writer the resolver records into,
 * the queries the admin API and CLI read, and the pruner. The composition root opens it once
 * (before the listeners) and closes it last, after the listeners have stopped recording.
 */
import type { Logger } from 'pino';
import { openStoreConnection, type OpenDatabaseOptions, type StoreConnection } from './database.js';
import { createEventWriter, type EventWriterOptions } from './event-writer.js';
import { createEventQueries } from './queries.js';
import { createPruner, type Pruner } from './retention.js';
import type { EventQueries, EventWriter, StoreConfig } from './types.js';

export interface BlockLog {
  readonly connection: StoreConnection;
  readonly writer: EventWriter;
  readonly queries: EventQueries;
  readonly pruner: Pruner;
  /** Stops pruning, writes everything buffered, closes the database. */
  close(): Promise<void>;
}

export interface BlockLogOptions {
  readonly log: Logger;
  readonly clock?: () => number;
  /** Writer tuning (tests and benches); defaults suit production. */
  readonly writer?: Omit<EventWriterOptions, 'connection' | 'log' | 'clock'>;
  readonly database?: Omit<OpenDatabaseOptions, 'log'>;
}

/** Opens the database (throwing ERR_STORE_OPEN, ERR_STORE_CORRUPT or ERR_STORE_SCHEMA) and starts pruning. */
export function openBlockLog(config: StoreConfig, options: BlockLogOptions): BlockLog {
  const { log } = options;
  const clock = options.clock ?? Date.now;
  const connection = openStoreConnection(config.path, { ...options.database, log });
  let writer: EventWriter;
  let pruner: Pruner;
  try {
    pruner = createPruner({ connection, log, retentionDays: config.retentionDays, maxEvents: config.maxEvents, clock });
    writer = createEventWriter({ ...options.writer, connection, log, clock });
  } catch (err: unknown) {
    connection.close();
    throw err;
  }
  const queries = createEventQueries(connection);
  pruner.start();
  return {
    connection,
    writer,
    queries,
    pruner,
    async close(): Promise<void> {
      await pruner.stop();
      writer.close();
      connection.close();
    },
  };
}
