/**
 * The learned pool addresses in the database (`pool_ips`, schema v8): one row per (address, name)
 * the learner (pool-ips/learner.ts) saw, with the list the name came from and when it was first and
 * last seen. Read once at start on the DNS thread's connection; written by the writer thread
 * (writer-worker.ts), so the DNS thread never waits for the write lock.
 */
import { preparedFor, type SqliteDatabase, type StoreConnection } from './database.js';

export interface PoolIpRow {
  readonly address: string;
  readonly name: string;
  readonly list: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

/** One write, as a message to the writer thread. */
export type PoolIpWrite =
  /** Inserts the rows, or moves last_seen_ms (and the list) of those already there. */
  | { readonly method: 'upsert'; readonly rows: readonly PoolIpRow[] }
  /** Deletes rows last seen before `beforeMs`, and the given (address, name) pairs. */
  | {
      readonly method: 'delete';
      readonly beforeMs: number;
      readonly pairs: readonly { readonly address: string; readonly name: string }[];
    };

export interface PoolIpStore {
  rows(): PoolIpRow[];
  apply(write: PoolIpWrite): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function prepare(db: SqliteDatabase) {
  return {
    db,
    rows: db.prepare('SELECT address, name, list, first_seen_ms, last_seen_ms FROM pool_ips'),
    upsert: db.prepare(
      'INSERT INTO pool_ips (address, name, list, first_seen_ms, last_seen_ms) VALUES (@address, @name, @list, @firstSeenMs, @lastSeenMs) ' +
        'ON CONFLICT (address, name) DO UPDATE SET list = excluded.list, last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms)',
    ),
    expire: db.prepare('DELETE FROM pool_ips WHERE last_seen_ms < ?'),
    deletePair: db.prepare('DELETE FROM pool_ips WHERE address = ? AND name = ?'),
  };
}

export function createPoolIpStore(connection: StoreConnection): PoolIpStore {
  const statements = preparedFor(connection, prepare);
  return {
    rows() {
      const out: PoolIpRow[] = [];
      for (const row of statements().rows.all()) {
        if (!isRecord(row)) continue;
        const { address, name, list, first_seen_ms: firstSeenMs, last_seen_ms: lastSeenMs } = row;
        if (typeof address !== 'string' || typeof name !== 'string' || typeof list !== 'string') continue;
        if (typeof firstSeenMs !== 'number' || typeof lastSeenMs !== 'number') continue;
        out.push({ address, name, list, firstSeenMs, lastSeenMs });
      }
      return out;
    },
    apply(write) {
      const s = statements();
      s.db.transaction(() => {
        if (write.method === 'upsert') {
          for (const row of write.rows) s.upsert.run(row);
        } else {
          s.expire.run(write.beforeMs);
          for (const pair of write.pairs) s.deletePair.run(pair.address, pair.name);
        }
      })();
    },
  };
}
