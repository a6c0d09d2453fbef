/**
 * What poolsink tells people about: the contract between the producers (incidents, the list
 * manager, the event writer) and the outbox (src/notify/) that delivers to the configured sinks.
 */
import type { SqliteDatabase } from '../store/database.js';

export const NOTIFICATION_TYPES = [
  'incident.opened',
  'incident.escalated',
  'incident.resolved',
  'list.failing',
  'store.degraded',
  'test',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export interface Notification {
  readonly type: NotificationType;
  readonly atMs: number;
  /** JSON-serialisable facts of the event (the incident summary with the host's identity, ...). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** The message id receivers see (a UUID); the outbox makes one when absent. */
  readonly id?: string;
  /** Deliver to these sinks only, whatever their `events` (the test route names one); default: subscribers. */
  readonly sinks?: readonly string[];
}

/**
 * Where producers that write in the writer thread put notifications: `enqueue` is called inside the
 * producer's own transaction on `db`, so a notification exists exactly when its cause was committed.
 */
export interface NotificationOutbox {
  enqueue(db: SqliteDatabase, notification: Notification): void;
}

/** The outbox of a server without sinks: notifications go nowhere. */
export const NO_OUTBOX: NotificationOutbox = { enqueue: () => undefined };
