/**
 * Schema migration 7 (retro-hunt): the query history table and the incidents' `retro` mark. Its own
 * module so schema.ts takes it with one line (query-history.ts, which imports schema.ts, holds the SQL
 * that uses it).
 *
 * query_history: one row per (client, name, hour) of answered queries while `history.enabled`.
 * `rname` is the name with its labels reversed (reversed-names.ts, as events.rname), so a listed
 * name and its subdomains are one range of query_history_rname. hour_ms is the hour's start,
 * first_ms the first query of that hour, count the queries of that hour (as far as the DNS thread's
 * recorder counted them).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Migration } from './schema.js';

export const QUERY_HISTORY_MIGRATION: Migration = {
  version: 7,
  description: 'query history for retro-hunts (query_history) and retro incidents (incidents.retro)',
  up(db: BetterSqlite3.Database): void {
    db.exec(`
CREATE TABLE query_history (
  id INTEGER PRIMARY KEY,
  client_ip TEXT NOT NULL,
  rname TEXT NOT NULL,
  qname TEXT NOT NULL,
  hour_ms INTEGER NOT NULL,
  first_ms INTEGER NOT NULL,
  count INTEGER NOT NULL
);
CREATE UNIQUE INDEX query_history_key ON query_history (client_ip, rname, hour_ms);
CREATE INDEX query_history_rname ON query_history (rname, hour_ms);
CREATE INDEX query_history_hour ON query_history (hour_ms);
ALTER TABLE incidents ADD COLUMN retro INTEGER NOT NULL DEFAULT 0;
`);
  },
};
