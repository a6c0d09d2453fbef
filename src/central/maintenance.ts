/**
 * Central maintenance of the events table, run by every fleet member: a pass (event-partitions.ts)
 * at start and every hour creates the coming days' partitions and drops those past
 * central.postgres.retentionDays. The advisory lock inside a pass lets one instance work while the
 * others skip, so a fleet of any size does each pass's work once.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { CentralDb } from './central-db.js';
import { maintainEventPartitions, type MaintenanceResult } from './event-partitions.js';

export const MAINTENANCE_INTERVAL_MS = 3_600_000;
/** After a failed pass (PostgreSQL away), the next try comes sooner. */
const RETRY_MS = 60_000;

export interface EventMaintenanceOptions {
  readonly db: CentralDb;
  /** 0: keep every event. */
  readonly retentionDays: number;
  readonly log: Logger;
  readonly clock: () => number;
  readonly intervalMs?: number;
}

export interface EventMaintenance {
  /** One pass now (after the one running, if any); rejects when PostgreSQL fails. */
  runNow(): Promise<MaintenanceResult>;
  stop(): Promise<void>;
}

export function startEventMaintenance(options: EventMaintenanceOptions): EventMaintenance {
  const { db, log } = options;
  let running: Promise<MaintenanceResult> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  function runNow(): Promise<MaintenanceResult> {
    const previous = running ?? Promise.resolve();
    const pass = previous
      .catch(() => undefined) // its failure was reported to its caller
      .then(() => db.withClient((client) => maintainEventPartitions(client, options.clock(), options.retentionDays)))
      .then((result) => {
        if (result.created + result.dropped + result.deleted > 0) log.info(result, 'central events maintained');
        return result;
      });
    running = pass;
    return pass;
  }

  function tick(): void {
    if (stopped) return;
    const intervalMs = options.intervalMs ?? MAINTENANCE_INTERVAL_MS;
    runNow()
      .then(
        () => intervalMs,
        (err: unknown) => {
          // central-db has logged the outage and marked /healthz; an event of a day without its
          // partition waits in the default one meanwhile, and moves at the next pass.
          log.debug({ err: errorMessage(err) }, 'central events maintenance failed; retrying');
          return Math.min(intervalMs, RETRY_MS);
        },
      )
      .then((delayMs) => {
        if (stopped) return;
        timer = setTimeout(tick, delayMs);
        timer.unref();
      });
  }
  tick();

  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined); // a failed pass is run again at the next start
    },
  };
}
