/**
 * Central maintenance, run by every fleet member: a pass at start and every hour creates the coming
 * days' partitions of the events and drops those past central.postgres.retentionDays
 * (event-partitions.ts), then deletes the miner logins, hosts and resolved incidents past it, in
 * bounded batches (central-pruning.ts). The advisory lock around a pass lets one instance work
 * while the others skip, so a fleet of any size does each pass's work once.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { CentralDb } from './central-db.js';
import type pg from 'pg';
import { pruneExpiredRows, type PruneResult } from './central-pruning.js';
import { DAY_MS, maintainPartitionsLocked, withMaintenanceLock, type MaintenanceResult } from './event-partitions.js';

export const MAINTENANCE_INTERVAL_MS = 3_600_000;
/** After a failed pass (PostgreSQL away), the next try comes sooner. */
const RETRY_MS = 60_000;

/** A pass's work: the partitions' and the rows pruned from the other tables (`pruned`). */
export interface CentralMaintenanceResult extends MaintenanceResult {
  readonly pruned: PruneResult;
}

const NOTHING_PRUNED: PruneResult = Object.freeze({ logins: 0, hosts: 0, incidents: 0 });

/** One whole pass under the maintenance lock (ran: false, nothing done, while another instance runs one). */
export async function maintainCentral(
  client: pg.ClientBase,
  nowMs: number,
  retentionDays: number,
  pruneBatchRows?: number,
): Promise<CentralMaintenanceResult> {
  const result = await withMaintenanceLock(client, async () => {
    const partitions = await maintainPartitionsLocked(client, nowMs, retentionDays);
    const pruned =
      retentionDays > 0
        ? await pruneExpiredRows(client, nowMs - retentionDays * DAY_MS, pruneBatchRows)
        : NOTHING_PRUNED;
    return { ...partitions, pruned };
  });
  return result ?? { ran: false, created: 0, dropped: 0, deleted: 0, pruned: NOTHING_PRUNED };
}

function changedAnything(result: CentralMaintenanceResult): boolean {
  const { created, dropped, deleted, pruned } = result;
  return created + dropped + deleted + pruned.logins + pruned.hosts + pruned.incidents > 0;
}

export interface EventMaintenanceOptions {
  readonly db: CentralDb;
  /** 0: keep every event. */
  readonly retentionDays: number;
  readonly log: Logger;
  readonly clock: () => number;
  readonly intervalMs?: number;
  /** Rows one pruning DELETE removes at most (central-pruning.ts's default). */
  readonly pruneBatchRows?: number;
}

export interface EventMaintenance {
  /** One pass now (after the one running, if any); rejects when PostgreSQL fails. */
  runNow(): Promise<CentralMaintenanceResult>;
  /**
   * A pass soon, for events shipped into the default partition: after the one running, if any; one
   * pass for all the requests made before it starts. A failure is logged (the hourly pass retries).
   */
  requestPass(): void;
  stop(): Promise<void>;
}

export function startEventMaintenance(options: EventMaintenanceOptions): EventMaintenance {
  const { db, log } = options;
  let running: Promise<CentralMaintenanceResult> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let requested = false;

  function runNow(onStart?: () => void): Promise<CentralMaintenanceResult> {
    const previous = running ?? Promise.resolve();
    const pass = previous
      .catch(() => undefined) // its failure was reported to its caller
      .then(() => {
        onStart?.();
        return db.withClient((client) =>
          maintainCentral(client, options.clock(), options.retentionDays, options.pruneBatchRows),
        );
      })
      .then((result) => {
        if (changedAnything(result)) log.info(result, 'central maintenance: partitions kept, expired rows removed');
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

  function requestPass(): void {
    if (stopped || requested) return;
    requested = true;
    runNow(() => {
      requested = false;
    }).catch((err: unknown) => {
      log.debug({ err: errorMessage(err) }, 'central maintenance requested by shipping failed; the next pass retries');
    });
  }

  return {
    runNow: () => runNow(),
    requestPass,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined); // a failed pass is run again at the next start
    },
  };
}
