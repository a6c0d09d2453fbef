/**
 * The one catalog of failure codes. Expected outcomes (blocked, cache miss, NXDOMAIN) are values,
 * not errors; everything here is a failure that someone must be told about.
 */
export const ERROR_CODES = {
  ERR_CONFIG_INVALID: 'the configuration is invalid',
  ERR_CONFIG_READ: 'the configuration file could not be read',
  ERR_LIST_READ: 'a blocklist could not be read',
  ERR_LIST_FETCH: 'a blocklist could not be fetched',
  ERR_LIST_REJECTED: 'a blocklist update was rejected',
  ERR_UPSTREAM_TIMEOUT: 'the upstream did not answer in time',
  ERR_UPSTREAM_FAILED: 'the upstream failed',
  ERR_LISTEN: 'a listener could not be opened',
  ERR_USAGE: 'the command line is invalid',
  ERR_STORE_OPEN: 'the database could not be opened',
  ERR_STORE_SCHEMA: 'the database schema is not one this version understands',
  ERR_STORE_CORRUPT: 'the database file is corrupt',
  ERR_STORE_WRITE: 'the database could not be written',
  ERR_STORE_READ: 'the database could not be read',
  ERR_ADMIN_TOKEN: 'the admin token could not be read or created',
  ERR_INVALID: 'a request parameter is invalid',
  ERR_NOT_FOUND: 'the requested item does not exist',
  ERR_CONFLICT: 'the item already exists or cannot be changed',
  ERR_INVENTORY_INVALID: 'a host inventory file could not be read or parsed',
  ERR_CENTRAL_UNAVAILABLE: 'the central PostgreSQL could not be reached or refused the request',
  ERR_WORKER: 'a resolver worker process (dns.workers) failed',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class PoolsinkError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PoolsinkError';
    this.code = code;
  }
}

export function isPoolsinkError(err: unknown, code?: ErrorCode): err is PoolsinkError {
  return err instanceof PoolsinkError && (code === undefined || err.code === code);
}

/** Whether `code` is one of the catalog's (a code that crossed a thread boundary as a string). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * Narrows an unknown thrown value to a message fit for a log line or a CLI error. An error without
 * a message of its own says what it wraps: Node's AggregateError (a connection that failed on
 * every address of a name) gives each address's reason.
 */
export function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message !== '') return err.message;
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorMessage).join(', ');
  if (err.cause !== undefined) return errorMessage(err.cause);
  return err.name;
}
