/**
 * Notifications in the writer thread: the outbox producers enqueue into (inside their own
 * transactions), the dispatcher that delivers it, and the writer's own notices (store.degraded when
 * events were dropped, at most one an hour, remembered across restarts through the outbox itself).
 */
import type { Logger } from 'pino';
import type { NotifySinkConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { StoreConnection } from '../store/database.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { NO_OUTBOX, type Notification, type NotificationOutbox } from './notification.js';
import { createNotificationOutbox } from './outbox.js';
import type { SinkStatus } from './sink-status.js';

export const STORE_DEGRADED_INTERVAL_MS = 3_600_000;

export interface WriterNotifier {
  /** For producers in this thread: call `enqueue(db, n)` inside the transaction that commits the cause. */
  readonly outbox: NotificationOutbox;
  /** Enqueues in a transaction of its own (messages from the DNS thread: test, list.failing). */
  enqueue(notification: Notification): void;
  /** `count` events were dropped (buffer full): a store.degraded notice unless one went out within the hour. */
  noteDropped(count: number, atMs: number): void;
  close(): Promise<void>;
}

export interface WriterNotifierOptions {
  readonly connection: StoreConnection;
  readonly sinks: readonly NotifySinkConfig[];
  readonly log: Logger;
  readonly onStatus: (sinks: readonly SinkStatus[]) => void;
  readonly clock?: () => number;
}

export function createWriterNotifier(options: WriterNotifierOptions): WriterNotifier {
  const { connection, log } = options;
  if (options.sinks.length === 0) {
    return { outbox: NO_OUTBOX, enqueue: () => undefined, noteDropped: () => undefined, close: async () => {} };
  }
  const dispatcher: Dispatcher = createDispatcher({
    database: () => connection.db,
    sinks: options.sinks,
    log,
    onStatus: options.onStatus,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  let kickPending = false;
  // Kicked once the producer's transaction has ended (setImmediate runs after the synchronous commit).
  const outbox = createNotificationOutbox({
    sinks: options.sinks,
    onEnqueued() {
      if (kickPending) return;
      kickPending = true;
      setImmediate(() => {
        kickPending = false;
        dispatcher.kick();
      });
    },
  });
  let lastDegradedMs: number | undefined;
  let droppedSinceNotice = 0;

  function enqueue(notification: Notification): void {
    try {
      connection.db.transaction(() => outbox.enqueue(connection.db, notification))();
    } catch (err: unknown) {
      log.error({ type: notification.type, err: errorMessage(err) }, 'notify: could not write to the outbox');
    }
  }

  function lastDegradedNotice(): number | undefined {
    try {
      const row = connection.db
        .prepare<[], { atMs: number | null }>(
          "SELECT MAX(created_ms) AS atMs FROM outbox WHERE type = 'store.degraded'",
        )
        .get();
      return row?.atMs ?? undefined;
    } catch (err: unknown) {
      log.warn({ err: errorMessage(err) }, 'notify: cannot read the last store.degraded notice');
      return undefined;
    }
  }

  dispatcher.kick();
  options.onStatus(dispatcher.status());
  return {
    outbox,
    enqueue,
    noteDropped(count, atMs) {
      droppedSinceNotice += count;
      lastDegradedMs ??= lastDegradedNotice() ?? Number.NEGATIVE_INFINITY;
      if (atMs - lastDegradedMs < STORE_DEGRADED_INTERVAL_MS) return;
      lastDegradedMs = atMs;
      enqueue({
        type: 'store.degraded',
        atMs,
        payload: {
          droppedEvents: droppedSinceNotice,
          reason: 'the block log buffer was full; dropped events still count in host and domain summaries',
        },
      });
      droppedSinceNotice = 0;
    },
    close: () => dispatcher.close(),
  };
}
