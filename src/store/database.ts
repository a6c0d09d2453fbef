/**
 * Opening the block log: the file, its pragmas, its schema version. openDatabase() refuses files it
 * cannot trust (corrupt, or from a newer poolsink) with a message that says what to do, and never
 * deletes or overwrites anything.
 *
 * A StoreConnection wraps the open database for the long-running server: if the file is deleted or
 * replaced while poolsink runs (SQLite would go on writing into the unlinked file, and every event
 * would be lost at the next restart), the event writer notices and reopens the path. Readers take
 * `connection.db` at each use and re-prepare their statements when `generation` changes
 * (preparedFor does that).
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import { MIGRATIONS, type Migration } from './schema.js';

export type SqliteDatabase = BetterSqlite3.Database;

export interface OpenDatabaseOptions {
  readonly log: Logger;
  /** The schema's migrations, oldest first, versions increasing (tests pass their own). */
  readonly migrations?: readonly Migration[];
  /**
   * Run `PRAGMA quick_check` before use when the file is at most this large. It reads the whole
   * file (measured: 15 s for a 3 GB log of 10M events), so big logs skip it and start at once;
   * damage found later fails writes (the writer reports it) rather than the start. Default 256 MiB;
   * 0 never checks, Infinity always does.
   */
  readonly quickCheckMaxBytes?: number;
  readonly busyTimeoutMs?: number;
  /** Page cache for this connection. Default 64 MiB: index inserts into a large log need it. */
  readonly cacheSizeKib?: number;
  /** `PRAGMA mmap_size` for this connection. Default 0 (reads through the page cache only). */
  readonly mmapSizeBytes?: number;
  /** WAL pages between automatic checkpoints. Default WAL_AUTOCHECKPOINT_PAGES. */
  readonly walAutocheckpointPages?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const DEFAULT_QUICK_CHECK_MAX_BYTES = 256 * 1024 * 1024;
const DEFAULT_CACHE_SIZE_KIB = 65_536;
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * WAL pages between automatic checkpoints (SQLite's default is 1000). Each checkpoint copies the
 * WAL into the database and syncs both; a batch of events dirties thousands of index pages, so the
 * default would checkpoint after nearly every batch. Measured on a 10M-event log: ~30% more events/s.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;

function isMemoryPath(path: string): boolean {
  return path === ':memory:' || path === '';
}

/** The SQLite error code of a better-sqlite3 error (SQLITE_BUSY, SQLITE_CONSTRAINT_PRIMARYKEY, ...). */
export function sqliteCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** Whether an error says the file is not a database or is damaged. */
export function isCorruption(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== undefined && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

function corruptError(path: string, detail: string, cause?: unknown): PoolsinkError {
  return new PoolsinkError(
    'ERR_STORE_CORRUPT',
    `database ${path} is corrupt (${detail}): move it (and any ${path}-wal and ${path}-shm beside it) ` +
      `aside and poolsink starts a fresh one; the old file can be salvaged with ` +
      `\`sqlite3 ${path} .recover | sqlite3 recovered.db\``,
    cause === undefined ? undefined : { cause },
  );
}

function checkMigrations(migrations: readonly Migration[]): number {
  let previous = 0;
  for (const migration of migrations) {
    if (!Number.isSafeInteger(migration.version) || migration.version <= previous) {
      throw new PoolsinkError(
        'ERR_STORE_SCHEMA',
        `migration "${migration.description}" has version ${migration.version} after version ${previous}: migration versions must be positive integers in increasing order`,
      );
    }
    previous = migration.version;
  }
  return previous;
}

function readUserVersion(db: SqliteDatabase): number {
  const version: unknown = db.pragma('user_version', { simple: true });
  if (typeof version !== 'number') throw new Error(`PRAGMA user_version returned ${String(version)}`);
  return version;
}

function quickCheck(db: SqliteDatabase, path: string): void {
  const result: unknown = db.pragma('quick_check(5)');
  const rows: readonly unknown[] = Array.isArray(result) ? result : [result];
  const problems = rows
    .map((row) =>
      typeof row === 'object' && row !== null && 'quick_check' in row ? String(row.quick_check) : String(row),
    )
    .filter((text) => text !== 'ok');
  if (problems.length > 0) throw corruptError(path, `quick_check: ${problems.join('; ')}`);
}

function migrate(db: SqliteDatabase, path: string, from: number, migrations: readonly Migration[], log: Logger): void {
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    try {
      db.transaction(() => {
        migration.up(db);
        db.pragma(`user_version = ${migration.version}`);
      })();
    } catch (err: unknown) {
      if (isCorruption(err)) throw corruptError(path, errorMessage(err), err);
      throw new PoolsinkError(
        'ERR_STORE_SCHEMA',
        `database ${path} could not be upgraded to schema version ${migration.version} (${migration.description}): ${errorMessage(err)}`,
        { cause: err },
      );
    }
    log.info({ path, version: migration.version, description: migration.description }, 'database schema upgraded');
  }
}

function configure(
  db: SqliteDatabase,
  path: string,
  options: OpenDatabaseOptions,
  migrations: readonly Migration[],
  latest: number,
): void {
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS)}`);
  let version: number;
  try {
    version = readUserVersion(db);
  } catch (err: unknown) {
    if (isCorruption(err)) throw corruptError(path, errorMessage(err), err);
    throw err;
  }
  if (version > latest) {
    throw new PoolsinkError(
      'ERR_STORE_SCHEMA',
      `database ${path} has schema version ${version}; this poolsink understands up to ${latest}: ` +
        `upgrade poolsink or point database.path elsewhere`,
    );
  }
  const size = isMemoryPath(path) ? 0 : (statSync(path, { throwIfNoEntry: false })?.size ?? 0);
  const quickCheckMaxBytes = options.quickCheckMaxBytes ?? DEFAULT_QUICK_CHECK_MAX_BYTES;
  if (quickCheckMaxBytes > 0 && size <= quickCheckMaxBytes) quickCheck(db, path);
  else if (quickCheckMaxBytes > 0)
    options.log.info({ path, sizeBytes: size }, 'database is large: skipping quick_check at start');
  if (!isMemoryPath(path)) {
    const mode: unknown = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal')
      options.log.warn({ path, journalMode: mode }, 'database is not in WAL mode; readers may wait for writers');
  }
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${Math.trunc(options.cacheSizeKib ?? DEFAULT_CACHE_SIZE_KIB)}`);
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  db.pragma(`wal_autocheckpoint = ${Math.trunc(options.walAutocheckpointPages ?? WAL_AUTOCHECKPOINT_PAGES)}`);
  if (options.mmapSizeBytes !== undefined) db.pragma(`mmap_size = ${Math.trunc(options.mmapSizeBytes)}`);
  migrate(db, path, version, migrations, options.log);
}

/**
 * Creates an empty database file with mode 0600 if none exists (the mode given to open() is not
 * widened by the umask), so SQLite, which gives its -wal and -shm files the database file's mode,
 * never creates any of them world-readable. An existing file is left as it is.
 */
function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch {
    // EEXIST: keep the file as it is; any other failure is reported by SQLite's own open next.
  }
}

/**
 * Opens (creating if needed) the SQLite file at `path` and brings its schema up to date.
 * Throws PoolsinkError: ERR_STORE_OPEN (cannot create or open), ERR_STORE_CORRUPT (not a database,
 * or quick_check fails), ERR_STORE_SCHEMA (newer schema than this build knows, or an upgrade failed).
 */
export function openDatabase(path: string, options: OpenDatabaseOptions): SqliteDatabase {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = checkMigrations(migrations);
  if (!isMemoryPath(path)) {
    try {
      // Owner-only (SECURITY.md, file modes): the log holds client addresses and query names.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch (err: unknown) {
      throw new PoolsinkError(
        'ERR_STORE_OPEN',
        `database directory ${dirname(path)} could not be created: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
  if (!isMemoryPath(path)) createPrivateFile(path);
  let db: SqliteDatabase;
  try {
    db = new Database(path);
  } catch (err: unknown) {
    if (isCorruption(err)) throw corruptError(path, errorMessage(err), err);
    throw new PoolsinkError('ERR_STORE_OPEN', `database ${path} could not be opened: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  try {
    configure(db, path, options, migrations, latest);
  } catch (err: unknown) {
    db.close();
    if (err instanceof PoolsinkError) throw err;
    if (isCorruption(err)) throw corruptError(path, errorMessage(err), err);
    throw new PoolsinkError('ERR_STORE_OPEN', `database ${path} could not be opened: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return db;
}

/** The schema version of the newest migration this build knows. */
export function latestSchemaVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return checkMigrations(migrations);
}

export interface StoreConnection {
  readonly path: string;
  /** The open database. reopen() replaces it: read it at each use, do not keep it. */
  readonly db: SqliteDatabase;
  /** Bumped by each reopen(), so statements prepared on the old database are prepared again. */
  readonly generation: number;
  /** True when `path` no longer names the open file: deleted, moved away or replaced. */
  fileReplaced(): boolean;
  /** Opens `path` afresh (a new file if it is gone) and closes the old database. Throws as openDatabase does. */
  reopen(): void;
  close(): void;
}

interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

function fileIdentity(path: string): FileIdentity | undefined {
  if (isMemoryPath(path)) return undefined;
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats === undefined ? undefined : { dev: stats.dev, ino: stats.ino };
}

export function openStoreConnection(path: string, options: OpenDatabaseOptions): StoreConnection {
  let db = openDatabase(path, options);
  let identity = fileIdentity(path);
  let generation = 0;
  let closed = false;

  return {
    path,
    get db(): SqliteDatabase {
      return db;
    },
    get generation(): number {
      return generation;
    },
    fileReplaced(): boolean {
      if (closed || isMemoryPath(path)) return false;
      let now: FileIdentity | undefined;
      try {
        now = fileIdentity(path);
      } catch {
        // Cannot tell (permissions on the directory, say): keep the open file rather than guess.
        return false;
      }
      return now === undefined || identity === undefined || now.dev !== identity.dev || now.ino !== identity.ino;
    },
    reopen(): void {
      if (closed) return;
      const fresh = openDatabase(path, options);
      const old = db;
      db = fresh;
      identity = fileIdentity(path);
      generation += 1;
      try {
        old.close();
      } catch (err: unknown) {
        options.log.warn({ path, err: errorMessage(err) }, 'closing the replaced database failed');
      }
    },
    close(): void {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

/**
 * Statements (or anything else built from the database) that follow reopen(): the getter returns
 * what `build` made for the current database, building again after a reopen.
 */
export function preparedFor<T>(connection: StoreConnection, build: (db: SqliteDatabase) => T): () => T {
  let builtFor = -1;
  let built: T | undefined;
  return () => {
    if (built === undefined || builtFor !== connection.generation) {
      built = build(connection.db);
      builtFor = connection.generation;
    }
    return built;
  };
}
