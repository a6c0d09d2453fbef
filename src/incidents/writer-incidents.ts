/**
 * Incidents as the writer thread runs them: the tracker (its hook goes to the event writer), the
 * auto-resolve sweep (at start and every sweepIntervalMs) and the operator changes posted by the
 * DNS thread, answered as a code and message rather than thrown across the thread boundary.
 */
import type { Logger } from 'pino';
import { errorMessage, isPoolsinkError } from '../errors.js';
import type { IdentityLookup } from '../inventory/host-identity.js';
import { NO_OUTBOX, type NotificationOutbox } from '../notify/notification.js';
import type { StoreConnection } from '../store/database.js';
import type { IncidentSettings } from '../store/writer-protocol.js';
import type { IncidentChange } from './incident-state.js';
import { createIncidentTracker, type IncidentTracker } from './incident-tracker.js';

const SWEEP_INTERVAL_MS = 60_000;

export interface WriterIncidentsOptions {
  readonly connection: StoreConnection;
  readonly log: Logger;
  /** Absent: incidents are off (no tracker). */
  readonly settings: IncidentSettings | undefined;
  readonly outbox: NotificationOutbox;
  readonly identityFor?: IdentityLookup;
}

export interface WriterIncidents {
  readonly tracker: IncidentTracker | undefined;
  start(): void;
  stop(): void;
  /** Applies an operator change; the catalog code and message of a refusal or failure. */
  change(change: IncidentChange): { code?: string; message?: string };
}

export function startWriterIncidents(options: WriterIncidentsOptions): WriterIncidents {
  const { settings, log } = options;
  const tracker =
    settings === undefined
      ? undefined
      : createIncidentTracker({
          connection: options.connection,
          log,
          severities: settings.severities,
          autoResolveHours: settings.autoResolveHours,
          outbox: settings.notify === false ? NO_OUTBOX : options.outbox,
          ...(options.identityFor !== undefined ? { identityFor: options.identityFor } : {}),
        });
  let timer: NodeJS.Timeout | undefined;

  function sweep(): void {
    try {
      tracker?.sweep();
    } catch (err: unknown) {
      log.warn({ err: errorMessage(err) }, 'incident auto-resolve failed; retried at the next sweep');
    }
  }

  return {
    tracker,
    start() {
      if (tracker === undefined) return;
      sweep();
      timer = setInterval(sweep, settings?.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
    change(change) {
      if (tracker === undefined) return { code: 'ERR_NOT_FOUND', message: 'incidents are not kept' };
      try {
        tracker.change(change);
        return {};
      } catch (err: unknown) {
        return { code: isPoolsinkError(err) ? err.code : 'ERR_STORE_WRITE', message: errorMessage(err) };
      }
    },
  };
}
