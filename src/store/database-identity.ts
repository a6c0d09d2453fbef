/**
 * This database's identity for fleet shipping (src/central/key-space.ts). Each local database gets
 * a random id when it is created (or upgraded to v10), kept in `meta`, and, once it has shipped to
 * the fleet's PostgreSQL, the key space it ships under there (`central_epoch`): the central
 * idempotency key of its events and logins is (instance, key space, local id), so a database that
 * replaces another under the same instance name (a new volume, a restored backup) never collides
 * with the rows of the one before it and never waits behind its cursor.
 */
import { preparedFor, type SqliteDatabase, type StoreConnection } from './database.js';

/**
 * Schema v10's `meta` table. A database that already holds events or logins was shipping (if at
 * all) before key spaces existed, under plain local ids: key space 0. A new one claims its key
 * space when it first ships.
 */
export const DATABASE_IDENTITY_V10 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('database_id', lower(hex(randomblob(16))));
INSERT INTO meta (key, value) SELECT 'central_epoch', '0'
  WHERE EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM miner_logins);
`;

export interface ShippingIdentity {
  readonly databaseId: string;
  /** The key space this database ships under; undefined until it first ships. */
  readonly epoch: number | undefined;
}

/** A claim of a key space, written by the writer thread (writer-worker.ts); `newId`: the database also gets a new id. */
export interface MetaWrite {
  readonly epoch: number;
  readonly newId: boolean;
}

/** Applies a MetaWrite, in one transaction (the writer thread's connection). */
export function applyMetaWrite(db: SqliteDatabase, write: MetaWrite): void {
  const upsert = db.prepare<[string, string]>(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  db.transaction(() => {
    if (write.newId) {
      const row = db.prepare<[], { id: string }>('SELECT lower(hex(randomblob(16))) AS id').get();
      upsert.run('database_id', row?.id ?? '');
    }
    upsert.run('central_epoch', String(write.epoch));
  })();
}

/** What the shipper asks of the local database about itself (src/central/key-space.ts). */
export interface LocalDatabaseIdentity {
  current(): ShippingIdentity;
  /** Records the key space this database now ships under; `newId`: it also becomes a new database (a restored copy). */
  claim(epoch: number, newId: boolean): Promise<ShippingIdentity>;
  /** The highest local id of a stream (0 when empty). */
  maxLocalId(stream: 'events' | 'logins'): number;
}

/** Reads on `store` (the main thread's connection); claims go through `write` (the writer thread). */
export function localDatabaseIdentity(
  store: StoreConnection,
  write: (write: MetaWrite) => Promise<void>,
): LocalDatabaseIdentity {
  const statements = preparedFor(store, (db) => ({
    read: db.prepare<[], { key: string; value: string }>(
      "SELECT key, value FROM meta WHERE key IN ('database_id', 'central_epoch')",
    ),
    maxEvent: db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM events'),
    maxLogin: db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM miner_logins'),
  }));

  function current(): ShippingIdentity {
    let databaseId = '';
    let epoch: number | undefined;
    for (const row of statements().read.all()) {
      if (row.key === 'database_id') databaseId = row.value;
      else epoch = Number(row.value);
    }
    return { databaseId, epoch };
  }

  return {
    current,
    async claim(epoch, newId) {
      await write({ epoch, newId });
      return current();
    },
    maxLocalId(stream) {
      const row = (stream === 'events' ? statements().maxEvent : statements().maxLogin).get();
      return row?.id ?? 0;
    },
  };
}
