/**
 * The list manager's rows in the database (tables from schema.ts): lists and allowlist
 * entries added over the API (`runtime_lists`, `runtime_allowlist`), and every list's fetch state
 * (`list_state`), so status survives a restart. Statements are prepared once per database and
 * again after the connection reopens the file.
 */
import { errorMessage, PoolsinkError } from '../errors.js';
import { preparedFor, sqliteCode, type SqliteDatabase, type StoreConnection } from './database.js';
// Types only, upward: the rows hold a list's format and mode as the list manager defines them.
import type { ListInfo } from '../blocklist/list-api.js';

export interface RuntimeListRow {
  readonly name: string;
  readonly source: string;
  readonly format: ListInfo['format'];
  readonly mode: ListInfo['mode'];
  readonly refreshSec: number;
  readonly maxShrinkPercent: number;
  /** Absent: the default (list-schema.ts). */
  readonly resolveForIps?: boolean;
  readonly createdMs: number;
}

export interface RuntimeAllowRow {
  readonly domain: string;
  readonly createdMs: number;
}

export interface ListStateRow {
  readonly name: string;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly lastFetchMs?: number;
  readonly lastChangeMs?: number;
  readonly lastError?: string;
  readonly entries?: number;
}

export interface ListStore {
  /** Oldest first. */
  runtimeLists(): readonly RuntimeListRow[];
  /** Throws ERR_CONFLICT when the name is taken. */
  insertRuntimeList(row: RuntimeListRow): void;
  updateRuntimeList(row: RuntimeListRow): void;
  /** Deletes the list and its state. */
  deleteRuntimeList(name: string): void;
  /** Oldest first. */
  runtimeAllowlist(): readonly RuntimeAllowRow[];
  /** Throws ERR_CONFLICT when the domain is already there. */
  insertAllowed(row: RuntimeAllowRow): void;
  deleteAllowed(domain: string): void;
  listStates(): readonly ListStateRow[];
  saveListState(row: ListStateRow): void;
}

/** The ListStore methods that write. */
export type ListStoreWriteMethod =
  | 'insertRuntimeList'
  | 'updateRuntimeList'
  | 'deleteRuntimeList'
  | 'insertAllowed'
  | 'deleteAllowed'
  | 'saveListState';

/**
 * What the list manager and allowlist use: reads at start-up (synchronous), and writes that may
 * complete later. In poolsink the writes go to the block-log writer thread (writer-thread.ts), so
 * they never wait on this thread for its transaction; a ListStore (writes done at once) also fits.
 * Errors are as ListStore's, as rejections.
 */
export type ListRecords = Omit<ListStore, ListStoreWriteMethod> & {
  readonly [M in ListStoreWriteMethod]: (...args: Parameters<ListStore[M]>) => void | Promise<void>;
};

/** One write, as a message: what writer-worker.ts applies to its own ListStore. */
export type ListStoreWrite = {
  [M in ListStoreWriteMethod]: { readonly method: M; readonly args: Parameters<ListStore[M]> };
}[ListStoreWriteMethod];

/** Reads from `reads` (this thread's connection), writes through `write` (the writer thread). */
export function listRecordsVia(reads: ListStore, write: (write: ListStoreWrite) => Promise<void>): ListRecords {
  return {
    runtimeLists: () => reads.runtimeLists(),
    runtimeAllowlist: () => reads.runtimeAllowlist(),
    listStates: () => reads.listStates(),
    insertRuntimeList: (...args) => write({ method: 'insertRuntimeList', args }),
    updateRuntimeList: (...args) => write({ method: 'updateRuntimeList', args }),
    deleteRuntimeList: (...args) => write({ method: 'deleteRuntimeList', args }),
    insertAllowed: (...args) => write({ method: 'insertAllowed', args }),
    deleteAllowed: (...args) => write({ method: 'deleteAllowed', args }),
    saveListState: (...args) => write({ method: 'saveListState', args }),
  };
}

/** Applies one write to `store` (throws as the method does). */
export function applyListStoreWrite(store: ListStore, write: ListStoreWrite): void {
  switch (write.method) {
    case 'insertRuntimeList':
      store.insertRuntimeList(...write.args);
      return;
    case 'updateRuntimeList':
      store.updateRuntimeList(...write.args);
      return;
    case 'deleteRuntimeList':
      store.deleteRuntimeList(...write.args);
      return;
    case 'insertAllowed':
      store.insertAllowed(...write.args);
      return;
    case 'deleteAllowed':
      store.deleteAllowed(...write.args);
      return;
    case 'saveListState':
      store.saveListState(...write.args);
      return;
  }
}

const FORMATS: readonly ListInfo['format'][] = ['auto', 'hosts', 'domains', 'adblock', 'ip'];
const MODES: readonly ListInfo['mode'][] = ['block', 'alert'];

function prepare(db: SqliteDatabase) {
  const deleteRuntimeList = db.prepare('DELETE FROM runtime_lists WHERE name = ?');
  const deleteListState = db.prepare('DELETE FROM list_state WHERE name = ?');
  return {
    runtimeLists: db.prepare(
      'SELECT name, source, format, mode, refresh_sec, max_shrink_percent, resolve_for_ips, created_ms FROM runtime_lists ORDER BY created_ms, name',
    ),
    insertRuntimeList: db.prepare(
      'INSERT INTO runtime_lists (name, source, format, mode, refresh_sec, max_shrink_percent, resolve_for_ips, created_ms) ' +
        'VALUES (@name, @source, @format, @mode, @refreshSec, @maxShrinkPercent, @resolveForIps, @createdMs)',
    ),
    updateRuntimeList: db.prepare(
      'UPDATE runtime_lists SET source = @source, format = @format, mode = @mode, refresh_sec = @refreshSec, ' +
        'max_shrink_percent = @maxShrinkPercent, resolve_for_ips = @resolveForIps WHERE name = @name',
    ),
    runtimeAllowlist: db.prepare('SELECT domain, created_ms FROM runtime_allowlist ORDER BY created_ms, domain'),
    insertAllowed: db.prepare('INSERT INTO runtime_allowlist (domain, created_ms) VALUES (?, ?)'),
    deleteAllowed: db.prepare('DELETE FROM runtime_allowlist WHERE domain = ?'),
    listStates: db.prepare(
      'SELECT name, etag, last_modified, last_fetch_ms, last_change_ms, last_error, entries FROM list_state',
    ),
    saveListState: db.prepare(
      'INSERT INTO list_state (name, etag, last_modified, last_fetch_ms, last_change_ms, last_error, entries) ' +
        'VALUES (@name, @etag, @lastModified, @lastFetchMs, @lastChangeMs, @lastError, @entries) ' +
        'ON CONFLICT (name) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, ' +
        'last_fetch_ms = excluded.last_fetch_ms, last_change_ms = excluded.last_change_ms, ' +
        'last_error = excluded.last_error, entries = excluded.entries',
    ),
    deleteRuntimeListAndState: db.transaction((name: string) => {
      deleteRuntimeList.run(name);
      deleteListState.run(name);
    }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function text(row: Record<string, unknown>, column: string): string | undefined {
  const value = row[column];
  return typeof value === 'string' ? value : undefined;
}

function num(row: Record<string, unknown>, column: string): number | undefined {
  const value = row[column];
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function writeFailed(what: string, err: unknown): PoolsinkError {
  return new PoolsinkError('ERR_STORE_WRITE', `${what}: ${errorMessage(err)}`, { cause: err });
}

/** Runs a write; a primary-key clash is ERR_CONFLICT, anything else ERR_STORE_WRITE. */
function write(what: string, conflict: string, run: () => void): void {
  try {
    run();
  } catch (err: unknown) {
    if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY')
      throw new PoolsinkError('ERR_CONFLICT', conflict, { cause: err });
    throw writeFailed(what, err);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function stateRow(row: Record<string, unknown>, name: string): ListStateRow {
  const state: Mutable<ListStateRow> = { name };
  const etag = text(row, 'etag');
  const lastModified = text(row, 'last_modified');
  const lastFetchMs = num(row, 'last_fetch_ms');
  const lastChangeMs = num(row, 'last_change_ms');
  const lastError = text(row, 'last_error');
  const entries = num(row, 'entries');
  if (etag !== undefined) state.etag = etag;
  if (lastModified !== undefined) state.lastModified = lastModified;
  if (lastFetchMs !== undefined) state.lastFetchMs = lastFetchMs;
  if (lastChangeMs !== undefined) state.lastChangeMs = lastChangeMs;
  if (lastError !== undefined) state.lastError = lastError;
  if (entries !== undefined) state.entries = entries;
  return state;
}

/** A row's statement parameters: every named one present (resolveForIps as 1, 0 or NULL). */
function runtimeListParams(row: RuntimeListRow): Record<string, unknown> {
  return {
    name: row.name,
    source: row.source,
    format: row.format,
    mode: row.mode,
    refreshSec: row.refreshSec,
    maxShrinkPercent: row.maxShrinkPercent,
    resolveForIps: row.resolveForIps === undefined ? null : row.resolveForIps ? 1 : 0,
    createdMs: row.createdMs,
  };
}

export function createListStore(connection: StoreConnection): ListStore {
  const statements = preparedFor(connection, prepare);

  return {
    runtimeLists() {
      const rows: RuntimeListRow[] = [];
      for (const row of statements().runtimeLists.all()) {
        if (!isObject(row)) continue;
        const name = text(row, 'name');
        const source = text(row, 'source');
        const format = FORMATS.find((f) => f === row['format']);
        const mode = MODES.find((m) => m === row['mode']);
        const refreshSec = num(row, 'refresh_sec');
        const maxShrinkPercent = num(row, 'max_shrink_percent');
        const createdMs = num(row, 'created_ms');
        // A row this version cannot read (edited by hand, or a future value) is left alone, not guessed at.
        if (name === undefined || source === undefined || format === undefined || mode === undefined) continue;
        if (refreshSec === undefined || maxShrinkPercent === undefined || createdMs === undefined) continue;
        const resolveForIps = num(row, 'resolve_for_ips');
        rows.push({
          name,
          source,
          format,
          mode,
          refreshSec,
          maxShrinkPercent,
          createdMs,
          ...(resolveForIps !== undefined ? { resolveForIps: resolveForIps === 1 } : {}),
        });
      }
      return rows;
    },
    insertRuntimeList(row) {
      write(`list "${row.name}" could not be saved`, `a list named "${row.name}" already exists`, () => {
        statements().insertRuntimeList.run(runtimeListParams(row));
      });
    },
    updateRuntimeList(row) {
      write(`list "${row.name}" could not be saved`, `a list named "${row.name}" already exists`, () => {
        statements().updateRuntimeList.run(runtimeListParams(row));
      });
    },
    deleteRuntimeList(name) {
      write(`list "${name}" could not be deleted`, '', () => {
        statements().deleteRuntimeListAndState(name);
      });
    },
    runtimeAllowlist() {
      const rows: RuntimeAllowRow[] = [];
      for (const row of statements().runtimeAllowlist.all()) {
        if (!isObject(row)) continue;
        const domain = text(row, 'domain');
        const createdMs = num(row, 'created_ms');
        if (domain !== undefined && createdMs !== undefined) rows.push({ domain, createdMs });
      }
      return rows;
    },
    insertAllowed(row) {
      write(`allowlist entry ${row.domain} could not be saved`, `${row.domain} is already in the allowlist`, () => {
        statements().insertAllowed.run(row.domain, row.createdMs);
      });
    },
    deleteAllowed(domain) {
      write(`allowlist entry ${domain} could not be deleted`, '', () => {
        statements().deleteAllowed.run(domain);
      });
    },
    listStates() {
      const rows: ListStateRow[] = [];
      for (const row of statements().listStates.all()) {
        if (!isObject(row)) continue;
        const name = text(row, 'name');
        if (name === undefined) continue;
        rows.push(stateRow(row, name));
      }
      return rows;
    },
    saveListState(row) {
      write(`state of list "${row.name}" could not be saved`, '', () => {
        statements().saveListState.run({
          name: row.name,
          etag: row.etag ?? null,
          lastModified: row.lastModified ?? null,
          lastFetchMs: row.lastFetchMs ?? null,
          lastChangeMs: row.lastChangeMs ?? null,
          lastError: row.lastError ?? null,
          entries: row.entries ?? null,
        });
      });
    },
  };
}
