/**
 * The outbox: a notification becomes one `outbox` row and one `outbox_deliveries` row per sink that
 * subscribes to its type, written inside the producer's transaction (so it exists exactly when its
 * cause was committed). The dispatcher (dispatcher.ts) delivers from these rows.
 */
import { randomUUID } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from '../store/database.js';
import type { Notification, NotificationOutbox } from './notification.js';
import type { OutboxMessageType } from './render.js';

export interface OutboxSubscription {
  readonly name: string;
  readonly events: readonly string[];
}

export interface OutboxOptions {
  readonly sinks: readonly OutboxSubscription[];
  /** Called after each enqueue that made deliveries (the dispatcher is kicked once the transaction ends). */
  readonly onEnqueued?: () => void;
  readonly newId?: () => string;
}

interface Statements {
  readonly insertMessage: BetterSqlite3.Statement<[string, string, number, string]>;
  readonly insertDelivery: BetterSqlite3.Statement<[number, string, number]>;
}

/** Prepared statements per database (a reopened database gets its own). */
function statementsFor(cache: WeakMap<SqliteDatabase, Statements>, db: SqliteDatabase): Statements {
  let statements = cache.get(db);
  if (statements === undefined) {
    statements = {
      insertMessage: db.prepare('INSERT INTO outbox (message_id, type, created_ms, payload_json) VALUES (?, ?, ?, ?)'),
      insertDelivery: db.prepare(
        "INSERT INTO outbox_deliveries (outbox_id, sink, state, attempts, next_attempt_ms) VALUES (?, ?, 'pending', 0, ?)",
      ),
    };
    cache.set(db, statements);
  }
  return statements;
}

/** Inserts one message for `sinks`; returns its row id. Run inside a transaction. */
export function insertMessage(
  db: SqliteDatabase,
  cache: WeakMap<SqliteDatabase, Statements>,
  message: { id: string; type: OutboxMessageType; atMs: number; payload: unknown },
  sinks: readonly string[],
): number {
  const statements = statementsFor(cache, db);
  const row = statements.insertMessage.run(message.id, message.type, message.atMs, JSON.stringify(message.payload));
  const outboxId = Number(row.lastInsertRowid);
  for (const sink of sinks) statements.insertDelivery.run(outboxId, sink, message.atMs);
  return outboxId;
}

export type OutboxStatements = WeakMap<SqliteDatabase, Statements>;

export function createOutboxStatements(): OutboxStatements {
  return new WeakMap();
}

export function createNotificationOutbox(options: OutboxOptions): NotificationOutbox {
  const cache = createOutboxStatements();
  const newId = options.newId ?? randomUUID;
  return {
    enqueue(db, notification: Notification) {
      const targets = options.sinks
        .filter((sink) =>
          notification.sinks !== undefined
            ? notification.sinks.includes(sink.name)
            : sink.events.includes(notification.type),
        )
        .map((sink) => sink.name);
      if (targets.length === 0) return;
      insertMessage(
        db,
        cache,
        {
          id: notification.id ?? newId(),
          type: notification.type,
          atMs: notification.atMs,
          payload: notification.payload,
        },
        targets,
      );
      options.onEnqueued?.();
    },
  };
}
