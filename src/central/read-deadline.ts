/**
 * The bound of one fleet read of the admin API (central.postgres.readTimeoutMs): one timer from
 * the read's start; every wait of the read (the schema migration at first contact, a pooled
 * connection, the queries) races it. A read that loses is a timeout, told apart from an outage by
 * its cause (CentralReadTimeout), so the API can say why it answers from the local view.
 */
import { PoolsinkError } from '../errors.js';

/** The cause of a fleet read's ERR_CENTRAL_UNAVAILABLE when PostgreSQL did not answer in time. */
export class CentralReadTimeout extends Error {
  override readonly name = 'CentralReadTimeout';
}

/** PostgreSQL's own cancellations of a read: statement_timeout (57014) and lock_timeout (55P03). */
export function isServerTimeout(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  return code === '57014' || code === '55P03';
}

export function readTimeoutError(timeoutMs: number, waitingFor: string, cause?: unknown): PoolsinkError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new PoolsinkError(
    'ERR_CENTRAL_UNAVAILABLE',
    `central PostgreSQL: read timed out after ${timeoutMs} ms (readTimeoutMs) waiting for ${waitingFor}${detail}`,
    { cause: new CentralReadTimeout(`read timed out after ${timeoutMs} ms`, { cause }) },
  );
}

export interface ReadDeadline {
  /** `pending`, or a read timeout if the deadline passes first; `abandon` then gets its late value. */
  race<T>(pending: Promise<T>, waitingFor: string, abandon?: (late: T) => void): Promise<T>;
  /** Milliseconds left (at least 1): the server-side timeouts of the read's statements. */
  remainingMs(): number;
  clear(): void;
}

export function startReadDeadline(timeoutMs: number, now: () => number = Date.now): ReadDeadline {
  const endMs = now() + timeoutMs;
  let expire: () => void = () => undefined;
  const expired = new Promise<void>((resolve) => {
    expire = resolve;
  });
  const timer = setTimeout(() => expire(), timeoutMs);
  return {
    async race(pending, waitingFor, abandon) {
      const outcome = await Promise.race([
        pending.then((value) => ({ kind: 'done' as const, value })),
        expired.then(() => ({ kind: 'expired' as const })),
      ]);
      if (outcome.kind === 'done') return outcome.value;
      // Whatever it yields later is not wanted; a late failure is expected (the connection is ended).
      pending.then(
        (late) => abandon?.(late),
        () => undefined,
      );
      throw readTimeoutError(timeoutMs, waitingFor);
    },
    remainingMs: () => Math.max(1, Math.ceil(endMs - now())),
    clear: () => clearTimeout(timer),
  };
}
