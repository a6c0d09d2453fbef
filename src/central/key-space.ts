/**
 * Which central key space a local database ships under, and how far it has shipped there. The
 * central idempotency key is (instance, local_id) (with time_ms for events, their partition key); local_id holds the key
 * space (the "epoch") in its high bits and the local SQLite id in the low 48:
 * `epoch * 2^48 + id`. Each local database (store/database-identity.ts) ships under its own epoch,
 * so a database that replaces another under the same instance name (a new volume, a restored older
 * backup) neither collides with the old rows nor waits behind the old cursor; its events ship from
 * its first. A stream's cursor is the highest local_id shipped within the epoch (one index seek on
 * the primary key): per (instance, database) with no central schema change.
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

/** The highest local id shipped in `epoch` (0: none). */
async function cursorIn(
  client: pg.ClientBase,
  stream: ShippingStream,
  instance: string,
  epoch: number,
): Promise<number> {
  const { rows } = await client.query<{ last: string | null }>(
    `SELECT max(local_id) AS last FROM ${TABLE_OF[stream]} WHERE instance = $1 AND local_id >= $2 AND local_id < $3`,
    [instance, centralLocalId(epoch, 0), centralLocalId(epoch + 1, 0)],
  );
  const last = rows[0]?.last ?? null;
  return last === null ? 0 : splitCentralLocalId(last).localId;
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
  return { next: highest + 1, shippedBefore: highest >= 0 };
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
): Promise<{ epoch: number; cursor: number }> {
  const { instance, identity, log } = options;
  const current = identity.current();
  if (current.epoch !== undefined) {
    const cursor = await cursorIn(client, stream, instance, current.epoch);
    const localMax = identity.maxLocalId(stream);
    if (cursor <= localMax) return { epoch: current.epoch, cursor };
    const { next } = await nextEpoch(client, instance);
    const claimed = await identity.claim(next, true);
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
    return { epoch: next, cursor: 0 };
  }
  const { next, shippedBefore } = await nextEpoch(client, instance);
  const claimed = await identity.claim(next, false);
  if (shippedBefore) {
    log.warn(
      { instance, databaseId: claimed.databaseId, epoch: next },
      'this instance shipped from another local database before (a new or replaced SQLite file): this one ships its own events from its first, under keys of its own; the earlier rows stay',
    );
  }
  return { epoch: next, cursor: 0 };
}
