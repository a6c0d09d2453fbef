/**
 * SQLite v10 (store/database-identity.ts): every database has a random id from its creation or its
 * upgrade; one that already held events keeps shipping under key space 0 (plain local ids, as
 * before key spaces), a new one has none until it first ships.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openDatabase, openStoreConnection } from '../../src/store/database.js';
import { applyMetaWrite, localDatabaseIdentity } from '../../src/store/database-identity.js';
import type { StoreConnection } from '../../src/store/database.js';
import { MIGRATIONS } from '../../src/store/schema.js';

const log = pino({ level: 'silent' });
let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-db-identity-'));
  path = join(dir, 'poolsink.db');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const BEFORE_IDENTITY = MIGRATIONS.filter((m) => m.version < 10);

/** Claims written on a connection of their own, as the writer thread does. */
function identityOf(store: StoreConnection) {
  return localDatabaseIdentity(store, async (write) => {
    const writer = openDatabase(store.path, { log });
    try {
      applyMetaWrite(writer, write);
    } finally {
      writer.close();
    }
  });
}

function insertEvent(db: ReturnType<typeof openDatabase>): void {
  db.prepare(
    `INSERT INTO events (time_ms, client_ip, client_port, protocol, qname, rname, qtype, list, rule, action, answer)
VALUES (1, '10.0.0.1', 5353, 'udp', 'pool.example', 'example.pool.', 1, 'pools', 'pool.example', 'blocked', 'nxdomain')`,
  ).run();
}

describe('the database identity (v10)', () => {
  test('a new database gets a random id and no key space yet; two databases, two ids', () => {
    const a = openStoreConnection(path, { log });
    const b = openStoreConnection(join(dir, 'other.db'), { log });
    try {
      const ida = identityOf(a).current();
      const idb = identityOf(b).current();
      expect(ida.databaseId).toMatch(/^[0-9a-f]{32}$/);
      expect(ida.epoch).toBeUndefined();
      expect(idb.databaseId).not.toBe(ida.databaseId);
    } finally {
      a.close();
      b.close();
    }
  });

  test('an upgraded database that holds events gets an id and key space 0', () => {
    const old = openDatabase(path, { log, migrations: BEFORE_IDENTITY });
    insertEvent(old);
    old.close();
    const store = openStoreConnection(path, { log });
    try {
      const identity = identityOf(store);
      expect(identity.current()).toMatchObject({ databaseId: expect.stringMatching(/^[0-9a-f]{32}$/), epoch: 0 });
      expect(identity.maxLocalId('events')).toBe(1);
      expect(identity.maxLocalId('logins')).toBe(0);
    } finally {
      store.close();
    }
  });

  test('a claim is kept; a claim as a new database changes the id', async () => {
    const store = openStoreConnection(path, { log });
    try {
      const identity = identityOf(store);
      const first = identity.current();
      expect(await identity.claim(2, false)).toEqual({ databaseId: first.databaseId, epoch: 2 });
      const forked = await identity.claim(3, true);
      expect(forked.epoch).toBe(3);
      expect(forked.databaseId).toMatch(/^[0-9a-f]{32}$/);
      expect(forked.databaseId).not.toBe(first.databaseId);
    } finally {
      store.close();
    }
    const again = openStoreConnection(path, { log });
    try {
      expect(identityOf(again).current().epoch).toBe(3);
    } finally {
      again.close();
    }
  });
});
