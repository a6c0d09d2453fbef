/**
 * Warnings for requests with a wrong token, bounded per source: the first failure from an address
 * is logged at once, later ones are counted and summarised in one line per interval with their
 * `count`. An address quiet for a whole interval is forgotten, so its next failure logs at once.
 * At most `maxSources` addresses are tracked; failures from others are summed into one line.
 */
import type { Logger } from 'pino';

export interface FailedAuthLogOptions {
  readonly log: Logger;
  /** One summary line per address per interval at most. */
  readonly intervalMs: number;
  /** Addresses tracked at once; beyond it failures are only counted together. */
  readonly maxSources: number;
}

export interface FailedAuthLog {
  record(client: string, method: string, path: string): void;
  /** Logs what is still counted and stops the interval timer. */
  close(): void;
}

export const DEFAULT_FAILED_AUTH_LOG = { intervalMs: 60_000, maxSources: 1_024 } as const;

export function createFailedAuthLog(options: FailedAuthLogOptions): FailedAuthLog {
  const { log, intervalMs, maxSources } = options;
  /** Address → failures since its last line. */
  const suppressed = new Map<string, number>();
  let untracked = 0;

  function flush(): void {
    for (const [client, count] of suppressed) {
      if (count === 0) {
        suppressed.delete(client);
        continue;
      }
      log.warn({ client, count, intervalMs }, 'admin requests with a wrong token');
      suppressed.set(client, 0);
    }
    if (untracked > 0) {
      log.warn({ count: untracked, sources: 'untracked', intervalMs }, 'admin requests with a wrong token');
      untracked = 0;
    }
  }

  const timer = setInterval(flush, intervalMs);
  timer.unref();

  return {
    record(client, method, path) {
      const count = suppressed.get(client);
      if (count !== undefined) suppressed.set(client, count + 1);
      else if (suppressed.size >= maxSources) untracked++;
      else {
        suppressed.set(client, 0);
        log.warn({ client, method, path }, 'admin request with a wrong token');
      }
    },
    close() {
      clearInterval(timer);
      flush();
      suppressed.clear();
    },
  };
}
