/**
 * The HTTP boundary's one table from error code to status, and the body every error gets:
 * `{"error":{"code","message"[,"param"]}}`. Catalog codes come from src/errors.ts; the few codes
 * here are failures of the HTTP exchange itself (no token, wrong method, body too large), which no
 * module outside the admin server can raise. Never a stack trace in a response.
 */
import type { Logger } from 'pino';
import { ERROR_CODES, PoolsinkError, type ErrorCode } from '../errors.js';

export const HTTP_ERROR_CODES = {
  ERR_UNAUTHORIZED: 'a valid bearer token is required',
  ERR_MISDIRECTED: 'the Host header must be an IP address, localhost or one of admin.hostnames',
  ERR_METHOD_NOT_ALLOWED: 'the method is not allowed on this path',
  ERR_BODY_TOO_LARGE: 'the request body is too large',
  ERR_UNSUPPORTED_MEDIA_TYPE: 'the request body must be application/json',
  ERR_UNAVAILABLE: 'this part of the service is not available',
  ERR_INTERNAL: 'internal error',
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES;
export type ApiErrorCode = ErrorCode | HttpErrorCode;

/**
 * Every code the API can answer with, and its status. A code added to the catalog fails the
 * typecheck here until it is given a status.
 */
export const HTTP_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  ERR_INVALID: 400,
  ERR_UNAUTHORIZED: 401,
  // A Host this server does not answer to (DNS rebinding): 421 Misdirected Request.
  ERR_MISDIRECTED: 421,
  ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_CONFLICT: 409,
  ERR_BODY_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  // A list source given over the API that cannot be read or parses to a rejected update.
  ERR_LIST_READ: 422,
  ERR_LIST_REJECTED: 422,
  ERR_INVENTORY_INVALID: 500,
  ERR_WORKER: 503,
  ERR_LIST_FETCH: 502,
  ERR_UPSTREAM_FAILED: 502,
  ERR_UPSTREAM_TIMEOUT: 504,
  ERR_UNAVAILABLE: 503,
  ERR_STORE_WRITE: 503,
  ERR_STORE_READ: 503,
  ERR_STORE_OPEN: 503,
  ERR_CENTRAL_UNAVAILABLE: 503,
  ERR_STORE_SCHEMA: 500,
  ERR_STORE_CORRUPT: 500,
  // Only a reload (POST /api/v1/reload) reads the configuration over HTTP: the file at fault.
  ERR_CONFIG_INVALID: 422,
  ERR_CONFIG_READ: 422,
  ERR_LISTEN: 500,
  ERR_USAGE: 500,
  ERR_ADMIN_TOKEN: 500,
  ERR_INTERNAL: 500,
};

/** A failure of the HTTP exchange, with the headers its status calls for (WWW-Authenticate, Allow). */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: HttpErrorCode,
    message: string = HTTP_ERROR_CODES[code],
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.headers = headers;
  }
}

/** A request parameter (query, path or body field) that is invalid; the response names it. */
export class InvalidParameterError extends PoolsinkError {
  readonly param: string;

  constructor(param: string, problem: string) {
    super('ERR_INVALID', `${param}: ${problem}`);
    this.param = param;
  }
}

export interface ErrorReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: { readonly code: ApiErrorCode; readonly message: string; readonly param?: string } };
}

function reply(
  code: ApiErrorCode,
  message: string,
  headers: Readonly<Record<string, string>> = {},
  param?: string,
): ErrorReply {
  return {
    status: HTTP_STATUS[code],
    headers,
    body: { error: param === undefined ? { code, message } : { code, message, param } },
  };
}

/**
 * Maps anything a handler threw to a response. Client errors carry their message; server errors
 * (500) get only the code's description, and the details go to the log.
 */
export function toErrorReply(err: unknown, log: Logger, context: { method: string; path: string }): ErrorReply {
  if (err instanceof HttpError) return reply(err.code, err.message, err.headers);
  if (err instanceof PoolsinkError) {
    const status = HTTP_STATUS[err.code];
    if (status === 500) {
      log.error({ err, ...context }, 'admin request failed');
      return reply(err.code, ERROR_CODES[err.code]);
    }
    if (status > 500) log.warn({ err: err.message, code: err.code, ...context }, 'admin request failed');
    return reply(err.code, err.message, {}, err instanceof InvalidParameterError ? err.param : undefined);
  }
  log.error({ err, ...context }, 'admin request failed unexpectedly');
  return reply('ERR_INTERNAL', HTTP_ERROR_CODES.ERR_INTERNAL);
}
