/**
 * Reads the local block log in id order for shipping to the fleet's PostgreSQL (src/central/):
 * the events after a cursor, a batch at a time, by primary key (an index range, about a
 * millisecond per 2,000 rows). The columns are central/event-columns.ts's; miner logins the same way
 * (central/login-columns.ts).
 */
import { LOCAL_EVENT_SELECT, type LocalEventRow } from '../central/event-columns.js';
import { LOCAL_LOGIN_SELECT, type LocalLoginRow } from '../central/login-columns.js';
import type { Statement } from 'better-sqlite3';
import type { StoreConnection } from './database.js';

export type LocalEventBatchReader = (afterId: number, limit: number) => readonly LocalEventRow[];

export function localEventReader(store: StoreConnection): LocalEventBatchReader {
  let generation = -1;
  let select: Statement<[number, number], LocalEventRow> | undefined;
  return (afterId, limit) => {
    if (select === undefined || generation !== store.generation) {
      select = store.db.prepare<[number, number], LocalEventRow>(LOCAL_EVENT_SELECT);
      generation = store.generation;
    }
    return select.all(afterId, limit);
  };
}

export type LocalLoginBatchReader = (afterId: number, limit: number) => readonly LocalLoginRow[];

/** The honeypot's miner logins (miner_logins, v6) after a cursor, for the shipper's second stream. */
export function localLoginReader(store: StoreConnection): LocalLoginBatchReader {
  let generation = -1;
  let select: Statement<[number, number], LocalLoginRow> | undefined;
  return (afterId, limit) => {
    if (select === undefined || generation !== store.generation) {
      select = store.db.prepare<[number, number], LocalLoginRow>(LOCAL_LOGIN_SELECT);
      generation = store.generation;
    }
    return select.all(afterId, limit);
  };
}
