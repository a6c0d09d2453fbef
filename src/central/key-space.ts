/**
 * Which central key space a local database ships under, and how far it has shipped there. The
 * central idempotency key is (instance, local_id) (with time_ms for events, their partition key); local_id holds the key
 * space (the "epoch") in its high bits and the local SQLite id in the low 48:
 * `epoch * 2^48 + id`. Each local database (store/database-identity.ts) ships under its own epoch,
 * so a database that replaces another under the same instance name (a new volume, a restored older
 * backup) neither collides with the old rows nor waits behind the old cursor; its events ship from
 * its first. A stream's cursor is the highest local id shipped within the epoch: kept in
 * central_key_spaces (central migration 4) as each batch ships, so retention deleting every row of
 * a key space never moves it back, and read as the higher of that and the rows' max(local_id) (one
 * index seek on the primary key: rows shipped by a poolsink from before version 4 count too).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { LocalDatabaseIdentity } from '../store/database-identity.js';

const LOCAL_ID_BITS = 48n;
const LOCAL_ID_MASK = (1n << LOCAL_ID_BITS) - 1n;

export type ShippingStream = 'events' | 'logins';

const TABLE_OF: Readonly<Record<ShippingStream, string>> = {
  events: 'central_events',
  logins: 'central_miner_logins',
};

/** The central local_id (as a decimal string: it passes 2^53) of local id `localId` in `epoch`. */
export function centralLocalId(epoch: number, localId: number): string {
  return ((BigInt(epoch) << LOCAL_ID_BITS) | BigInt(localId)).toString();
}

/** A central local_id split back into its key space and local id. */
export function splitCentralLocalId(value: string | number): { epoch: number; localId: number } {
  const big = BigInt(value);
  return { epoch: Number(big >> LOCAL_ID_BITS), localId: Number(big & LOCAL_ID_MASK) };
}

const CURSOR_COLUMN_OF: Readonly<Record<ShippingStream, string>> = {
  events: 'last_event_id',
  logins: 'last_login_id',
};

/** The highest local id shipped in `epoch` (0: none): the kept cursor, or the rows' if higher. */
async function cursorIn(
  client: pg.ClientBase,
  stream: ShippingStream,
  instance: string,
  epoch: number,
): Promise<number> {
  const { rows } = await client.query<{ last: string | null; kept: string | null }>(
    `SELECT (SELECT max(local_id) FROM ${TABLE_OF[stream]} WHERE instance = $1 AND local_id >= $2 AND local_id < $3) AS last,
  (SELECT ${CURSOR_COLUMN_OF[stream]} FROM central_key_spaces WHERE instance = $1 AND epoch = $4) AS kept`,
    [instance, centralLocalId(epoch, 0), centralLocalId(epoch + 1, 0), epoch],
  );
  const last = rows[0]?.last ?? null;
  const shipped = last === null ? 0 : splitCentralLocalId(last).localId;
  return Math.max(shipped, Number(rows[0]?.kept ?? 0));
}

/**
 * Records that `stream` of this database shipped up to local id `lastId` in `epoch`, inside the
 * batch's transaction (the cursor never moves back).
 */
export async function advanceCursor(
  client: pg.ClientBase,
  stream: ShippingStream,
  instance: string,
  keySpace: { readonly epoch: number; readonly databaseId: string },
  lastId: number,
): Promise<void> {
  const column = CURSOR_COLUMN_OF[stream];
  await client.query(
    `INSERT INTO central_key_spaces (instance, epoch, database_id, ${column}) VALUES ($1, $2, $3, $4)
ON CONFLICT (instance, epoch) DO UPDATE SET database_id = EXCLUDED.database_id,
  ${column} = GREATEST(central_key_spaces.${column}, EXCLUDED.${column})`,
    [instance, keySpace.epoch, keySpace.databaseId, lastId],
  );
}

/** The epoch after every one this instance has shipped under (0 when it has shipped nothing). */
async function nextEpoch(client: pg.ClientBase, instance: string): Promise<{ next: number; shippedBefore: boolean }> {
  let highest = -1;
  for (const table of Object.values(TABLE_OF)) {
    const { rows } = await client.query<{ last: string | null }>(
      `SELECT max(local_id) AS last FROM ${table} WHERE instance = $1`,
      [instance],
    );
    const last = rows[0]?.last ?? null;
    if (last !== null) highest = Math.max(highest, splitCentralLocalId(last).epoch);
  }
  // Key spaces whose rows retention has deleted stay taken.
  const { rows } = await client.query<{ epoch: number | null }>(
    'SELECT max(epoch) AS epoch FROM central_key_spaces WHERE instance = $1',
    [instance],
  );
  highest = Math.max(highest, rows[0]?.epoch ?? -1);
  return { next: highest + 1, shippedBefore: highest >= 0 };
}

/** Where a stream of this database ships: its key space, the local id shipped up to, the database's id. */
export interface KeySpace {
  readonly epoch: number;
  readonly cursor: number;
  readonly databaseId: string;
}

export interface KeySpaceOptions {
  readonly instance: string;
  readonly identity: LocalDatabaseIdentity;
  readonly log: Logger;
}

/**
 * The epoch and cursor of `stream` for this database, inside the caller's transaction (which holds
 * the instance's central_instances row, so two batches never claim at once). A database with no
 * epoch yet claims the next one; so does one whose central rows go beyond its local ids (a
 * restored older copy, or a log emptied by retention, whose ids start again below the cursor):
 * its events then ship again from its first, under keys of their own. Both are logged as warnings.
 */
export async function keySpaceOf(
  client: pg.ClientBase,
  stream: ShippingStream,
  options: KeySpaceOptions,
): Promise<KeySpace> {
  const { instance, identity, log } = options;
  const current = identity.current();
  if (current.epoch !== undefined) {
    const cursor = await cursorIn(client, stream, instance, current.epoch);
    const localMax = identity.maxLocalId(stream);
    if (cursor <= localMax) return { epoch: current.epoch, cursor, databaseId: current.databaseId };
    const { next } = await nextEpoch(client, instance);
    const claimed = await identity.claim(next, true);
    await advanceCursor(client, stream, instance, { epoch: next, databaseId: claimed.databaseId }, 0);
    log.warn(
      {
        instance,
        stream,
        centralCursor: cursor,
        localMaxId: localMax,
        previousDatabaseId: current.databaseId,
        databaseId: claimed.databaseId,
        epoch: next,
      },
      'the fleet PostgreSQL holds more of this database than it has (restored from an older copy, or ids reused): it becomes a new database and ships every local event again from its first, under keys of its own',
    );
    return { epoch: next, cursor: 0, databaseId: claimed.databaseId };
  }
  const { next, shippedBefore } = await nextEpoch(client, instance);
  const claimed = await identity.claim(next, false);
  // Taken at once, so no other database of this instance claims it while it has shipped nothing.
  await advanceCursor(client, stream, instance, { epoch: next, databaseId: claimed.databaseId }, 0);
  if (shippedBefore) {
    log.warn(
      { instance, databaseId: claimed.databaseId, epoch: next },
      'this instance shipped from another local database before (a new or replaced SQLite file): this one ships its own events from its first, under keys of its own; the earlier rows stay',
    );
  }
  return { epoch: next, cursor: 0, databaseId: claimed.databaseId };
}
