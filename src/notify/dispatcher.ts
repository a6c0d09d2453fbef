/**
 * Delivers the outbox, in the writer thread (it owns the database connection, so delivery state is
 * written without contending for SQLite's write lock; network I/O there is asynchronous and never
 * touches the DNS thread). Per sink, one delivery at a time in outbox id order: the head waits for
 * its retry time, so a receiver sees messages in the order they were made. A failed attempt is
 * retried with exponential backoff (backoff.ts) until 24 h after the message was made, then marked
 * failed. A first attempt that finds the sink's send window full is held and counted into the
 * next digest (digest.ts). State lives in the rows, so a restart resumes where it stopped.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { NotifySinkConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { SqliteDatabase } from '../store/database.js';
import { retryDelayMs, withinDeliveryAge } from './backoff.js';
import { DIGEST_WINDOW_MS, digestOf } from './digest.js';
import { createOutboxStatements, insertMessage } from './outbox.js';
import { DIGEST_TYPE, type OutboxMessage } from './render.js';
import type { SinkStatus } from './sink-status.js';
import { createSendWindow, type SendWindow } from './send-window.js';
import { createSender, type SendMessage } from './transports.js';

/** The longest a sink's timer sleeps before it looks again (a clock step cannot strand a retry). */
const MAX_SLEEP_MS = 60_000;
/** After a database error, the sink looks again this much later. */
const DB_ERROR_RETRY_MS = 5_000;

export interface DispatcherOptions {
  /** The current database (a getter: the writer may reopen it). */
  readonly database: () => SqliteDatabase;
  readonly sinks: readonly NotifySinkConfig[];
  readonly log: Logger;
  readonly clock?: () => number;
  readonly random?: () => number;
  /** Told after each change of a sink's status. */
  readonly onStatus?: (sinks: readonly SinkStatus[]) => void;
}

export interface Dispatcher {
  /** Looks for due deliveries now (after a commit that enqueued). */
  kick(): void;
  status(): SinkStatus[];
  /** Stops timers and waits for attempts in flight (each bounded by its sink's timeoutMs). */
  close(): Promise<void>;
}

interface DueRow {
  outboxId: number;
  attempts: number;
  nextAttemptMs: number | null;
  lastError: string | null;
  messageId: string;
  type: string;
  createdMs: number;
  payloadJson: string;
}

function statementsOf(db: SqliteDatabase) {
  const where = 'WHERE outbox_id = ? AND sink = ?';
  return {
    head: db.prepare<[string], DueRow>(
      `SELECT d.outbox_id AS outboxId, d.attempts, d.next_attempt_ms AS nextAttemptMs, d.last_error AS lastError,
         o.message_id AS messageId, o.type, o.created_ms AS createdMs, o.payload_json AS payloadJson
       FROM outbox_deliveries d JOIN outbox o ON o.id = d.outbox_id
       WHERE d.sink = ? AND d.state = 'pending' ORDER BY d.outbox_id LIMIT 1`,
    ),
    delivered: db.prepare<[number, number, string]>(
      `UPDATE outbox_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_ms = ?,
         next_attempt_ms = NULL, last_error = NULL ${where}`,
    ),
    retry: db.prepare<[number, string, number, string]>(
      `UPDATE outbox_deliveries SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? ${where}`,
    ),
    failed: db.prepare<[string, number, string]>(
      `UPDATE outbox_deliveries SET state = 'failed', attempts = attempts + 1, next_attempt_ms = NULL,
         last_error = ? ${where}`,
    ),
    hold: db.prepare<[number, number, string]>(
      `UPDATE outbox_deliveries SET state = 'held', next_attempt_ms = ?,
         last_error = 'held back by the rate limit' ${where}`,
    ),
    digestDue: db.prepare<[string], { dueMs: number | null }>(
      `SELECT MIN(next_attempt_ms) AS dueMs FROM outbox_deliveries
       WHERE sink = ? AND state = 'held' AND next_attempt_ms IS NOT NULL`,
    ),
    heldMessages: db.prepare<[string], { type: string; payloadJson: string }>(
      `SELECT o.type, o.payload_json AS payloadJson FROM outbox_deliveries d JOIN outbox o ON o.id = d.outbox_id
       WHERE d.sink = ? AND d.state = 'held' AND d.next_attempt_ms IS NOT NULL ORDER BY d.outbox_id`,
    ),
    summarised: db.prepare<[string, string]>(
      `UPDATE outbox_deliveries SET next_attempt_ms = NULL, last_error = ?
       WHERE sink = ? AND state = 'held' AND next_attempt_ms IS NOT NULL`,
    ),
    counts: db.prepare<[string], { state: string; n: number }>(
      'SELECT state, COUNT(*) AS n FROM outbox_deliveries WHERE sink = ? GROUP BY state',
    ),
  };
}

type Statements = ReturnType<typeof statementsOf>;

interface SinkRuntime {
  readonly config: NotifySinkConfig;
  readonly send: SendMessage;
  readonly bucket: SendWindow;
  running: boolean;
  timer: NodeJS.Timeout | undefined;
  inFlight: Promise<void> | undefined;
  lastError: string | undefined;
  lastErrorMs: number | undefined;
  lastSuccessMs: number | undefined;
}

function parsePayload(json: string): Readonly<Record<string, unknown>> {
  const value: unknown = JSON.parse(json);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value } : { value };
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { log } = options;
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const cache = new WeakMap<SqliteDatabase, Statements>();
  const outboxStatements = createOutboxStatements();
  let closed = false;

  function st(): Statements {
    const db = options.database();
    let statements = cache.get(db);
    if (statements === undefined) {
      statements = statementsOf(db);
      cache.set(db, statements);
    }
    return statements;
  }

  const sinks: SinkRuntime[] = options.sinks.map((config) => ({
    config,
    send: createSender(config, clock),
    bucket: createSendWindow(config.perMinute),
    running: false,
    timer: undefined,
    inFlight: undefined,
    lastError: undefined,
    lastErrorMs: undefined,
    lastSuccessMs: undefined,
  }));

  function statusOf(sink: SinkRuntime): SinkStatus {
    const counts: Record<string, number> = {};
    try {
      for (const row of st().counts.all(sink.config.name)) counts[row.state] = row.n;
    } catch (err: unknown) {
      log.warn({ sink: sink.config.name, err: errorMessage(err) }, 'notify: cannot count deliveries');
    }
    return {
      name: sink.config.name,
      type: sink.config.type,
      events: sink.config.events,
      state: sink.lastError === undefined ? 'ok' : 'failing',
      ...(sink.lastError !== undefined ? { lastError: sink.lastError } : {}),
      ...(sink.lastErrorMs !== undefined ? { lastErrorMs: sink.lastErrorMs } : {}),
      ...(sink.lastSuccessMs !== undefined ? { lastSuccessMs: sink.lastSuccessMs } : {}),
      queueDepth: counts.pending ?? 0,
      delivered: counts.delivered ?? 0,
      failed: counts.failed ?? 0,
      held: counts.held ?? 0,
    };
  }

  function status(): SinkStatus[] {
    return sinks.map(statusOf);
  }

  function publish(): void {
    if (options.onStatus !== undefined && !closed) options.onStatus(status());
  }

  function schedule(sink: SinkRuntime, atMs: number | undefined): void {
    if (sink.timer !== undefined) clearTimeout(sink.timer);
    sink.timer = undefined;
    if (atMs === undefined || closed) return;
    const delay = Math.min(Math.max(atMs - clock(), 0), MAX_SLEEP_MS);
    sink.timer = setTimeout(() => void pump(sink), delay);
    sink.timer.unref();
  }

  /** Summarises the sink's held messages into one digest message once the window is over. */
  function digestIfDue(sink: SinkRuntime, statements: Statements, now: number): number | undefined {
    const due = statements.digestDue.get(sink.config.name)?.dueMs ?? null;
    if (due === null) return undefined;
    if (due > now) return due;
    const id = randomUUID();
    const db = options.database();
    db.transaction(() => {
      const held = statements.heldMessages
        .all(sink.config.name)
        .map((row) => ({ type: row.type, payload: parsePayload(row.payloadJson) }));
      insertMessage(db, outboxStatements, { id, type: DIGEST_TYPE, atMs: now, payload: digestOf(held) }, [
        sink.config.name,
      ]);
      statements.summarised.run(`held back by the rate limit; summarised in digest ${id}`, sink.config.name);
    })();
    return undefined;
  }

  async function attempt(sink: SinkRuntime, statements: Statements, row: DueRow): Promise<void> {
    const message: OutboxMessage = {
      id: row.messageId,
      type: row.type,
      createdMs: row.createdMs,
      payload: parsePayload(row.payloadJson),
    };
    const name = sink.config.name;
    try {
      await sink.send(message);
    } catch (err: unknown) {
      const now = clock();
      const reason = errorMessage(err);
      sink.lastError = reason;
      sink.lastErrorMs = now;
      if (closed) return;
      const next = now + retryDelayMs(row.attempts + 1, random);
      if (withinDeliveryAge(row.createdMs, next)) {
        statements.retry.run(next, reason, row.outboxId, name);
        log.warn(
          { sink: name, id: row.messageId, attempts: row.attempts + 1, err: reason },
          'notify: delivery failed; will retry',
        );
      } else {
        statements.failed.run(`gave up after 24 h: ${reason}`, row.outboxId, name);
        log.error(
          { sink: name, id: row.messageId, attempts: row.attempts + 1, err: reason },
          'notify: delivery given up',
        );
      }
      return;
    }
    const now = clock();
    sink.lastSuccessMs = now;
    sink.lastError = undefined;
    sink.lastErrorMs = undefined;
    if (!closed) statements.delivered.run(now, row.outboxId, name);
  }

  async function pump(sink: SinkRuntime): Promise<void> {
    if (closed || sink.running) return;
    sink.running = true;
    try {
      for (;;) {
        if (closed) return;
        const statements = st();
        const now = clock();
        const digestDueMs = digestIfDue(sink, statements, now);
        const row = statements.head.get(sink.config.name);
        if (row === undefined) {
          schedule(sink, digestDueMs);
          return;
        }
        const dueMs = row.nextAttemptMs ?? now;
        if (dueMs > now) {
          if (row.lastError !== null && sink.lastError === undefined) sink.lastError = row.lastError;
          schedule(sink, digestDueMs === undefined ? dueMs : Math.min(dueMs, digestDueMs));
          return;
        }
        if (row.attempts === 0 && row.type !== DIGEST_TYPE && !sink.bucket.take(now)) {
          statements.hold.run(digestDueMs ?? now + DIGEST_WINDOW_MS, row.outboxId, sink.config.name);
          continue;
        }
        sink.inFlight = attempt(sink, statements, row);
        await sink.inFlight;
        sink.inFlight = undefined;
        publish();
      }
    } catch (err: unknown) {
      log.error({ sink: sink.config.name, err: errorMessage(err) }, 'notify: outbox read or write failed');
      schedule(sink, clock() + DB_ERROR_RETRY_MS);
    } finally {
      sink.running = false;
      publish();
    }
  }

  return {
    kick() {
      for (const sink of sinks) void pump(sink);
    },
    status,
    async close() {
      closed = true;
      for (const sink of sinks) schedule(sink, undefined);
      await Promise.all(sinks.map((sink) => sink.inFlight));
    },
  };
}
