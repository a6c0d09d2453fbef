/**
 * The set-up of admin-server tests without a whole poolsink: a real SQLite store in a temporary
 * directory, an event writer on it, a captured log, and the AdminDeps built on them. Hooks of the
 * calling file: opened before each test, closed after it (after the file's own afterEach, which
 * closes its servers first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import type { AdminDeps } from '../../src/admin/routes.js';
import { createMatcher, type DomainMatcher } from '../../src/blocklist/matcher.js';
import { zeroCounters } from '../../src/dns/resolver-counters.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { asyncEventQueries, createEventQueries } from '../../src/store/queries.js';
import type { EventQueries, EventWriter } from '../../src/store/types.js';
import { captureLog, type CapturedLog } from './log-capture.js';

export interface AdminStore {
  readonly dir: string;
  readonly connection: StoreConnection;
  readonly writer: EventWriter;
  /** The log for the server under test (level info). */
  readonly logged: CapturedLog;
  /** The admin server's dependencies on this store; `events` replaces some of its queries. */
  deps(options?: { matcher?: DomainMatcher; events?: Partial<EventQueries> }): AdminDeps;
}

interface Opened {
  readonly dir: string;
  readonly connection: StoreConnection;
  readonly writer: EventWriter;
  readonly logged: CapturedLog;
}

export function useAdminStore(prefix: string): AdminStore {
  let opened: Opened | undefined;
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    const connection = openStoreConnection(join(dir, 'poolsink.db'), { log: pino({ level: 'silent' }) });
    const writer = createEventWriter({ connection, log: pino({ level: 'silent' }) });
    opened = { dir, connection, writer, logged: captureLog('info') };
  });
  afterEach(() => {
    if (opened === undefined) return;
    opened.writer.close();
    opened.connection.close();
    rmSync(opened.dir, { recursive: true, force: true });
    opened = undefined;
  });
  const current = (): Opened => {
    if (opened === undefined)
      throw new Error('the admin store is opened before each test (useAdminStore at file level)');
    return opened;
  };
  return {
    get dir() {
      return current().dir;
    },
    get connection() {
      return current().connection;
    },
    get writer() {
      return current().writer;
    },
    get logged() {
      return current().logged;
    },
    deps(options = {}) {
      const { connection, writer } = current();
      return {
        resolver: { counters: zeroCounters(), matcher: options.matcher ?? createMatcher([], []), pending: 0 },
        cache: { size: 0 },
        upstream: {
          stats: { sent: 0, answered: 0, timeouts: 0, mismatched: 0, tcpRetries: 0, errors: 0 },
          health: () => [],
        },
        events: asyncEventQueries({ ...createEventQueries(connection), ...options.events }),
        eventWriter: writer,
        health: () => ({ serving: true, listeners: [] }),
      };
    },
  };
}
