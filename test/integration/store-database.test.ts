import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isPoolsinkError, type ErrorCode } from '../../src/errors.js';
import {
  latestSchemaVersion,
  openDatabase,
  openStoreConnection,
  type SqliteDatabase,
} from '../../src/store/database.js';
import { MIGRATIONS, type Migration } from '../../src/store/schema.js';

const log = pino({ level: 'silent' });

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-store-db-'));
  path = join(dir, 'poolsink.db');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tables(db: SqliteDatabase): string[] {
  return db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((row) => row.name);
}

function version(db: SqliteDatabase): unknown {
  return db.pragma('user_version', { simple: true });
}

/** The PoolsinkError that `fn` throws, checked to carry `code`. */
function thrown(fn: () => unknown, code: ErrorCode): Error {
  try {
    fn();
  } catch (err: unknown) {
    if (!isPoolsinkError(err, code)) throw err;
    return err;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

const LATEST = latestSchemaVersion();
/** A migration after the shipped ones. */
const NEXT: Migration = {
  version: LATEST + 1,
  description: 'test: notes table and a column',
  up(db) {
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL); ALTER TABLE hosts ADD COLUMN label TEXT');
  },
};

describe('openDatabase', () => {
  test('creates the file and its directory, in WAL mode, at the latest schema', () => {
    const nested = join(dir, 'a', 'b', 'poolsink.db');
    const db = openDatabase(nested, { log });
    try {
      expect(existsSync(nested)).toBe(true);
      expect(version(db)).toBe(latestSchemaVersion());
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(tables(db)).toEqual(
        expect.arrayContaining([
          'events',
          'hosts',
          'host_domains',
          'domains',
          'host_hours',
          'domain_hours',
          'list_hours',
          'outcome_minutes',
          'runtime_lists',
          'runtime_allowlist',
          'list_state',
        ]),
      );
    } finally {
      db.close();
    }
  });

  test('reopening a current file changes nothing', () => {
    const first = openDatabase(path, { log });
    first.prepare("INSERT INTO runtime_allowlist (domain, created_ms) VALUES ('ok.example', 1)").run();
    first.close();
    const second = openDatabase(path, { log });
    try {
      expect(version(second)).toBe(LATEST);
      expect(second.prepare('SELECT count(*) AS n FROM runtime_allowlist').get()).toEqual({ n: 1 });
    } finally {
      second.close();
    }
  });

  test('schema v2: a v1 file keeps its events and loses the list and action indexes', () => {
    const v1 = openDatabase(path, { log, migrations: MIGRATIONS.slice(0, 1) });
    v1.prepare(
      "INSERT INTO events (time_ms, client_ip, client_port, protocol, qname, rname, qtype, list, rule, action, answer) VALUES (1, '10.0.0.1', 53, 'udp', 'a.pool.example', 'example.pool.a.', 1, 'pools', 'pool.example', 'blocked', 'nxdomain')",
    ).run();
    const indexes = (db: SqliteDatabase): string[] =>
      db
        .prepare<[], { name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name",
        )
        .all()
        .map((row) => row.name);
    expect(indexes(v1)).toEqual([
      'events_action_time',
      'events_client_time',
      'events_list_time',
      'events_rname_time',
      'events_time',
    ]);
    v1.close();
    const db = openDatabase(path, { log });
    try {
      expect(version(db)).toBe(LATEST); // v2 and every migration after it
      expect(indexes(db)).toEqual(['events_client_time', 'events_rname_time', 'events_time']);
      expect(db.prepare('SELECT qname FROM events').all()).toEqual([{ qname: 'a.pool.example' }]);
    } finally {
      db.close();
    }
  });

  test.each(MIGRATIONS.map((m) => m.version))(
    'a file at version %i upgraded to the latest has the schema of a new file',
    (from) => {
      const schema = (db: SqliteDatabase): unknown[] =>
        db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all();
      openDatabase(path, { log, migrations: MIGRATIONS.filter((m) => m.version <= from) }).close();
      const upgraded = openDatabase(path, { log });
      const fresh = openDatabase(join(dir, 'fresh.db'), { log });
      try {
        expect(version(upgraded)).toBe(LATEST);
        expect(schema(upgraded)).toEqual(schema(fresh));
      } finally {
        upgraded.close();
        fresh.close();
      }
    },
  );

  test('upgrades an older file step by step, keeping its data', () => {
    const v1 = openDatabase(path, { log });
    v1.prepare(
      "INSERT INTO hosts (client_ip, first_seen_ms, last_seen_ms, blocked_count, distinct_domains) VALUES ('10.0.0.1', 1, 2, 3, 1)",
    ).run();
    v1.close();
    const v2 = openDatabase(path, { log, migrations: [...MIGRATIONS, NEXT] });
    try {
      expect(version(v2)).toBe(LATEST + 1);
      expect(tables(v2)).toContain('notes');
      expect(v2.prepare('SELECT client_ip, blocked_count, label FROM hosts').all()).toEqual([
        { client_ip: '10.0.0.1', blocked_count: 3, label: null },
      ]);
    } finally {
      v2.close();
    }
  });

  test.each([
    ['an empty file', () => writeFileSync(path, '')],
    ['a new SQLite file at version 0', () => new Database(path).close()],
  ])('upgrades %s from version 0', (_label, make) => {
    make();
    const db = openDatabase(path, { log, migrations: [...MIGRATIONS, NEXT] });
    try {
      expect(version(db)).toBe(LATEST + 1);
      expect(tables(db)).toEqual(expect.arrayContaining(['events', 'notes']));
    } finally {
      db.close();
    }
  });

  test('a failed upgrade is rolled back and reported, leaving the file at its version', () => {
    openDatabase(path, { log }).close();
    const broken: Migration = {
      version: LATEST + 1,
      description: 'test: fails halfway',
      up(db) {
        db.exec('CREATE TABLE half (x)');
        throw new Error('boom');
      },
    };
    const err = thrown(() => openDatabase(path, { log, migrations: [...MIGRATIONS, broken] }), 'ERR_STORE_SCHEMA');
    expect(err.message).toContain(`could not be upgraded to schema version ${LATEST + 1}`);
    expect(err.message).toContain('boom');
    const db = openDatabase(path, { log });
    try {
      expect(version(db)).toBe(LATEST);
      expect(tables(db)).not.toContain('half');
    } finally {
      db.close();
    }
  });

  test('refuses a file from a newer poolsink, untouched', () => {
    const newer = new Database(path);
    newer.exec(`CREATE TABLE future (x); PRAGMA user_version = ${LATEST + 1}`);
    newer.close();
    const before = readFileSync(path);
    const err = thrown(() => openDatabase(path, { log }), 'ERR_STORE_SCHEMA');
    expect(err.message).toBe(
      `database ${path} has schema version ${LATEST + 1}; this poolsink understands up to ${LATEST}: upgrade poolsink or point database.path elsewhere`,
    );
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test('refuses a SQLite file of another program that has tables of the same names', () => {
    const foreign = new Database(path);
    foreign.exec("CREATE TABLE events (what TEXT); INSERT INTO events VALUES ('theirs')");
    foreign.close();
    thrown(() => openDatabase(path, { log }), 'ERR_STORE_SCHEMA');
    const db = new Database(path);
    try {
      expect(db.prepare('SELECT what FROM events').all()).toEqual([{ what: 'theirs' }]);
    } finally {
      db.close();
    }
  });

  test('refuses a file that is not a database, untouched, saying how to recover', () => {
    writeFileSync(path, 'this is not a database\n'.repeat(500));
    const before = readFileSync(path);
    const err = thrown(() => openDatabase(path, { log }), 'ERR_STORE_CORRUPT');
    expect(err.message).toContain(`database ${path} is corrupt`);
    expect(err.message).toContain('aside and poolsink starts a fresh one');
    expect(err.message).toContain(`sqlite3 ${path} .recover`);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test('refuses a database with a damaged page (quick_check)', () => {
    const db = new Database(path);
    db.exec('CREATE TABLE filler (x TEXT); CREATE INDEX filler_x ON filler (x)');
    const insert = db.prepare('INSERT INTO filler VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i += 1) insert.run(`value-${i}-${'-'.repeat(50)}`);
    })();
    db.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(2000, 0xa5), 0, 2000, 4096 * 10 + 100);
    closeSync(fd);
    const before = readFileSync(path);
    const err = thrown(() => openDatabase(path, { log }), 'ERR_STORE_CORRUPT');
    expect(err.message).toContain('quick_check');
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test('a path that cannot be a file is ERR_STORE_OPEN', () => {
    writeFileSync(join(dir, 'plain-file'), 'x');
    const err = thrown(() => openDatabase(join(dir, 'plain-file', 'poolsink.db'), { log }), 'ERR_STORE_OPEN');
    expect(err.message).toContain('plain-file');
  });

  test('migration versions must increase; a repeated or lower version is refused before the file is made', () => {
    for (const bad of [LATEST, LATEST - 1, 0]) {
      const wrong: Migration = { ...NEXT, version: bad };
      thrown(() => openDatabase(path, { log, migrations: [...MIGRATIONS, wrong] }), 'ERR_STORE_SCHEMA');
      expect(existsSync(path)).toBe(false);
    }
  });

  test('a version gap is allowed: the database records the last version applied', () => {
    const later: Migration = { ...NEXT, version: LATEST + 2 };
    const db = openDatabase(path, { log, migrations: [...MIGRATIONS, later] });
    try {
      expect(version(db)).toBe(LATEST + 2);
    } finally {
      db.close();
    }
  });
});

describe('openStoreConnection', () => {
  test('notices a deleted or replaced file and reopens the path', () => {
    const connection = openStoreConnection(path, { log });
    try {
      const first = connection.db;
      expect(connection.fileReplaced()).toBe(false);
      unlinkSync(path);
      expect(connection.fileReplaced()).toBe(true);
      connection.reopen();
      expect(connection.generation).toBe(1);
      expect(connection.db).not.toBe(first);
      expect(first.open).toBe(false);
      expect(existsSync(path)).toBe(true);
      expect(connection.fileReplaced()).toBe(false);
      expect(version(connection.db)).toBe(LATEST);
    } finally {
      connection.close();
    }
  });
});

describe('connection settings', () => {
  test('cache, mmap and checkpoint size apply to the connection; absent, the defaults do', () => {
    const tuned = openDatabase(path, {
      log,
      cacheSizeKib: 131_072,
      mmapSizeBytes: 1_048_576,
      walAutocheckpointPages: 2_000,
    });
    const plain = openDatabase(path, { log });
    try {
      expect(tuned.pragma('cache_size', { simple: true })).toBe(-131_072);
      expect(tuned.pragma('mmap_size', { simple: true })).toBe(1_048_576);
      expect(tuned.pragma('wal_autocheckpoint', { simple: true })).toBe(2_000);
      expect(plain.pragma('cache_size', { simple: true })).toBe(-65_536);
      expect(plain.pragma('mmap_size', { simple: true })).toBe(0);
      expect(plain.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    } finally {
      tuned.close();
      plain.close();
    }
  });
});
