/**
 * The block-log reader thread's entry point (a worker_threads Worker started by reader-thread.ts).
 * It opens its own connection to the database and answers the admin API's queries there, one at a
 * time, so a query that reads for tens of milliseconds over a large log never pauses DNS answers.
 * In WAL mode it reads alongside the writer thread without waiting for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, isPoolsinkError } from '../errors.js';
import { isCorruption, openStoreConnection, sqliteCode, type StoreConnection } from './database.js';
import { createEventQueries } from './queries.js';
import type { FromReader, ReaderQuery, ReaderThreadData, ToReader } from './reader-protocol.js';
import type { EventQueries } from './types.js';
import { createThreadLogger } from './worker-support.js';

function post(port: NonNullable<typeof parentPort>, message: FromReader): void {
  port.postMessage(message);
}

/** The error reply for a failed query: store failures keep a catalog code, anything else has none. */
function failure(id: number, err: unknown): FromReader {
  if (isPoolsinkError(err)) return { kind: 'error', id, code: err.code, message: err.message };
  if (isCorruption(err)) return { kind: 'error', id, code: 'ERR_STORE_CORRUPT', message: errorMessage(err) };
  if (sqliteCode(err)?.startsWith('SQLITE_') === true)
    return { kind: 'error', id, code: 'ERR_STORE_READ', message: errorMessage(err) };
  return { kind: 'error', id, message: errorMessage(err) };
}

function answer(queries: EventQueries, query: ReaderQuery): unknown {
  switch (query.method) {
    case 'clientsIn':
      return queries.clientsIn(...query.args);
    case 'events':
      return queries.events(...query.args);
    case 'hosts':
      return queries.hosts(...query.args);
    case 'hostsPage':
      return queries.hostsPage(...query.args);
    case 'host':
      return queries.host(...query.args);
    case 'stats':
      return queries.stats(...query.args);
    case 'incidents':
      return queries.incidents(...query.args);
    case 'incident':
      return queries.incident(...query.args);
    case 'timeseries':
      return queries.timeseries(...query.args);
    case 'overview':
      return queries.overview(...query.args);
    case 'minerLogins':
      return queries.minerLogins(...query.args);
  }
}

function run(port: NonNullable<typeof parentPort>, data: ReaderThreadData): void {
  const log = createThreadLogger(data.logLevel, (line) => post(port, { kind: 'log', line }));
  let connection: StoreConnection;
  try {
    connection = openStoreConnection(data.path, { log, quickCheckMaxBytes: 0 });
  } catch (err: unknown) {
    post(port, {
      kind: 'failed',
      code: isPoolsinkError(err) ? err.code : 'ERR_STORE_OPEN',
      message: errorMessage(err),
    });
    port.close();
    return;
  }
  const queries = createEventQueries(
    connection,
    data.edgeScanMaxEvents !== undefined ? { edgeScanMaxEvents: data.edgeScanMaxEvents } : {},
  );

  port.on('message', (message: ToReader) => {
    if (message.kind === 'close') {
      connection.close();
      port.close();
      return;
    }
    try {
      // A deleted or replaced file: read the one the path names now, as the writer thread does.
      if (connection.fileReplaced()) connection.reopen();
      post(port, { kind: 'result', id: message.id, value: answer(queries, message) });
    } catch (err: unknown) {
      post(port, failure(message.id, err));
    }
  });
  post(port, { kind: 'ready' });
}

if (parentPort !== null) run(parentPort, workerData as ReaderThreadData);
