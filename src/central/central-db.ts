/**
 * The connection to the fleet's PostgreSQL: one bounded pool (pool.max), TLS with CA verification
 * when configured, the password from its file. PostgreSQL being away never fails the start or a
 * DNS answer: the first use migrates (migrations.ts) and runs the caller's `prepare` (today's event
 * partitions) before any other work, every failure marks the database unreachable
 * (/healthz degraded `central-unreachable`, with the reason logged once per change), the next
 * success marks it reachable again. Failures leave as ERR_CENTRAL_UNAVAILABLE. The admin API's reads
 * (`read`) are bounded by readTimeoutMs (read-deadline.ts): a migration, a lock or a busy server
 * makes them time out, without marking the database unreachable; shipping, lists and maintenance
 * (`withClient`, `transaction`) may run as long as they need.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { PostgresConfig } from '../config/central-config.js';
import { PoolsinkError, errorMessage, isPoolsinkError } from '../errors.js';
import { migrateCentral } from './migrations.js';
import { CentralReadTimeout, isServerTimeout, readTimeoutError, startReadDeadline } from './read-deadline.js';

export interface CentralStatus {
  readonly reachable: boolean;
  /** Why not, while unreachable (no password or URL in it). */
  readonly lastError?: string;
}

export interface CentralDb {
  /** Runs `work` on a pooled connection once the schema is migrated; ERR_CENTRAL_UNAVAILABLE on failure. */
  withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /**
   * A read for the admin API: `work` inside BEGIN READ ONLY with statement_timeout and lock_timeout,
   * the whole (migration wait, pooled connection, queries) within readTimeoutMs; a timeout is an
   * ERR_CENTRAL_UNAVAILABLE caused by CentralReadTimeout (isCentralTimeout) and ends the connection.
   */
  read<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T>;
  /** Runs `work` inside BEGIN ... COMMIT (ROLLBACK on failure). */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** A dedicated connection outside the pool (LISTEN), with the same settings. */
  connectDedicated(): Promise<pg.Client>;
  status(): CentralStatus;
  /** Reports a failure noticed outside withClient (a LISTEN connection lost). */
  noteFailure(err: unknown): void;
  close(): Promise<void>;
}

/** The URL with passwordFile's password in it: pg lets the URL's fields win over `password`. */
function connectionStringOf(config: PostgresConfig): string {
  if (config.password === undefined) return config.connectionString;
  const url = new URL(config.connectionString);
  url.password = encodeURIComponent(config.password);
  return url.href;
}

export function clientConfigOf(config: PostgresConfig): pg.ClientConfig {
  return {
    connectionString: connectionStringOf(config),
    ...(config.ssl !== undefined
      ? {
          ssl: {
            rejectUnauthorized: config.ssl.rejectUnauthorized,
            ...(config.ssl.ca !== undefined ? { ca: config.ssl.ca } : {}),
            ...(config.ssl.servername !== undefined ? { servername: config.ssl.servername } : {}),
          },
        }
      : {}),
    connectionTimeoutMillis: config.connectTimeoutMs,
    application_name: 'poolsink',
  };
}

/** The driver's message without the connection string (pg never puts the password in it). */
function reasonOf(err: unknown): string {
  if (isPoolsinkError(err)) return err.message;
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  const message = errorMessage(err);
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * `prepare`: run once after the migration at first contact (again at the next use if it fails),
 * before any other work gets a connection.
 */
export function createCentralDb(
  config: PostgresConfig,
  log: Logger,
  prepare?: (client: pg.ClientBase) => Promise<unknown>,
): CentralDb {
  const pool = new pg.Pool({ ...clientConfigOf(config), max: config.poolMax, idleTimeoutMillis: config.idleTimeoutMs });
  // An idle pooled connection that the server closes emits here; unhandled it would end the process.
  pool.on('error', (err) => noteFailure(err));
  let state: CentralStatus = { reachable: false, lastError: 'not connected yet' };
  let migrated: Promise<void> | undefined;
  let closed = false;

  function noteFailure(err: unknown): void {
    const reason = reasonOf(err);
    if (state.reachable || state.lastError !== reason) {
      log.warn(
        { err: reason },
        'central PostgreSQL unreachable; DNS and the local store carry on, shipping resumes when it is back',
      );
    }
    state = { reachable: false, lastError: reason };
  }

  function noteSuccess(): void {
    if (!state.reachable) log.info('central PostgreSQL reachable');
    state = { reachable: true };
  }

  async function ensureMigrated(): Promise<void> {
    migrated ??= (async () => {
      const client = await pool.connect();
      try {
        await migrateCentral(client);
        await prepare?.(client);
      } finally {
        client.release();
      }
    })().catch((err: unknown) => {
      migrated = undefined; // tried again at the next use
      throw err;
    });
    return migrated;
  }

  async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (closed) throw new PoolsinkError('ERR_CENTRAL_UNAVAILABLE', 'central PostgreSQL: closed');
    try {
      await ensureMigrated();
      const client = await pool.connect();
      let broken = false;
      // The server may end a checked-out connection between two queries of `work` (a shutdown):
      // pg emits that on the client, where no pool listener is while it is checked out.
      const onError = (err: Error): void => {
        broken = true;
        noteFailure(err);
      };
      client.on('error', onError);
      try {
        const result = await work(client);
        noteSuccess();
        return result;
      } catch (err: unknown) {
        broken = true;
        throw err;
      } finally {
        // A connection whose work failed may be mid-transaction or dead: not returned to the pool.
        client.off('error', onError);
        client.release(broken);
      }
    } catch (err: unknown) {
      throw failureOf(err);
    }
  }

  /** A failure as it leaves: noted as an outage when it is one. */
  function failureOf(err: unknown): PoolsinkError {
    if (isPoolsinkError(err)) {
      // A refusal of ours (not found, conflict) is an answer; a schema too new is an outage.
      if (err.code === 'ERR_STORE_SCHEMA') noteFailure(err);
      return err;
    }
    // A query error from PostgreSQL itself (a constraint) is not an outage; a connection one is.
    const sqlState = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    if (!/^(23|22|42)/.test(sqlState)) noteFailure(err);
    return new PoolsinkError('ERR_CENTRAL_UNAVAILABLE', `central PostgreSQL: ${reasonOf(err)}`, { cause: err });
  }

  async function read<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    if (closed) throw new PoolsinkError('ERR_CENTRAL_UNAVAILABLE', 'central PostgreSQL: closed');
    const timeoutMs = config.readTimeoutMs;
    const deadline = startReadDeadline(timeoutMs);
    try {
      await deadline.race(ensureMigrated(), 'the schema migration');
      const client = await deadline.race(pool.connect(), 'a pooled connection', (late) => late.release());
      let released = false;
      const release = (destroy: boolean): void => {
        if (released) return;
        released = true;
        client.off('error', onError);
        client.release(destroy);
      };
      const onError = (err: Error): void => {
        noteFailure(err);
        release(true);
      };
      client.on('error', onError);
      let reusable = false;
      try {
        const result = await deadline.race(
          (async () => {
            // The server cancels first (90% of what is left), so the connection is kept for the next
            // read; the deadline itself ends one the server does not cancel (a network stall).
            // Integers of ours: nothing from a request reaches this text.
            const ms = Math.max(1, Math.floor(deadline.remainingMs() * 0.9));
            await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${ms}; SET LOCAL lock_timeout = ${ms}`);
            try {
              const rows = await work(client);
              await client.query('COMMIT');
              return rows;
            } catch (err: unknown) {
              if (isServerTimeout(err)) {
                await client.query('ROLLBACK');
                reusable = true;
              }
              throw err;
            }
          })(),
          'a lock or the query',
        );
        release(false);
        noteSuccess();
        return result;
      } catch (err: unknown) {
        // Mid-transaction, timed out or dead: ended, which also stops a query still running.
        release(!reusable);
        throw err;
      }
    } catch (err: unknown) {
      // PostgreSQL cancelled the statement (statement_timeout, lock_timeout): a timeout, not an outage.
      if (isServerTimeout(err)) throw readTimeoutError(timeoutMs, 'a lock or the query', err);
      if (isCentralTimeout(err)) throw err;
      throw failureOf(err);
    } finally {
      deadline.clear();
    }
  }

  return {
    withClient,
    read,
    transaction: (work) =>
      withClient(async (client) => {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      }),
    async connectDedicated() {
      await ensureMigrated();
      const client = new pg.Client(clientConfigOf(config));
      client.on('error', (err) => noteFailure(err));
      await client.connect();
      return client;
    },
    status: () => state,
    noteFailure,
    async close() {
      closed = true;
      await pool.end();
    },
  };
}

/** Whether a fleet read failed because PostgreSQL did not answer within readTimeoutMs (read). */
export function isCentralTimeout(err: unknown): boolean {
  return isPoolsinkError(err, 'ERR_CENTRAL_UNAVAILABLE') && err.cause instanceof CentralReadTimeout;
}

/** Whether a fleet read failed because PostgreSQL is away, too slow (or its schema is newer): the API falls back to the local view. */
export function isCentralUnreachable(err: unknown): boolean {
  return isPoolsinkError(err, 'ERR_CENTRAL_UNAVAILABLE') || isPoolsinkError(err, 'ERR_STORE_SCHEMA');
}
