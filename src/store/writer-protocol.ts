/**
 * What the DNS thread and the block-log writer thread say to each other (writer-thread.ts,
 * writer-worker.ts). Messages carry work and logs; shared memory carries what the DNS thread reads
 * without waiting: the writer's counters (a Float64Array) and the flush/close handshakes (an
 * Int32Array the DNS thread Atomics.waits on).
 */
import type { ListStoreWrite } from './list-store.js';
import type { PoolIpWrite } from './pool-ip-store.js';
import type { MetaWrite } from './database-identity.js';
import type { EventTally } from './batch-writer.js';
import type { EncodedEvents } from './event-codec.js';
import type { OutcomeCounts } from './types.js';
import type { IncidentChange, Severity } from '../incidents/incident-state.js';
import type { NotifySinkConfig } from '../config/types.js';
import type { Notification } from '../notify/notification.js';
import type { SinkStatus } from '../notify/sink-status.js';
import type { IdentityUpdate } from '../inventory/identity-snapshot.js';
import type { MinerLogin } from '../honeypot/miner-login.js';
import type { HistoryBatch, RetroHuntRequest, RetroHuntResult } from './history-protocol.js';

/** Slots of the shared Float64Array of writer counters, written by the worker only. */
export const STAT = {
  /** Events the worker has taken off its message queue. */
  received: 0,
  buffered: 1,
  written: 2,
  dropped: 3,
  writeErrors: 4,
  /** 1 while healthy. */
  healthy: 5,
  /** 'dropped' messages the worker has taken: the DNS thread keeps at most one in flight. */
  droppedMessages: 6,
  /** Bytes of the last write error's text in the shared error buffer; -1 for none. */
  errorLength: 7,
} as const;
export const STAT_SLOTS = 8;
/**
 * Size of the shared buffer holding the last write error's text (UTF-8, cut to fit). The worker
 * writes the text before it clears `healthy`, so a reader that sees "unhealthy" sees its reason.
 */
export const ERROR_TEXT_BYTES = 1024;

/** Slots of the shared Int32Array the DNS thread waits on, written by the worker only. */
export const SIGNAL = {
  /** The last flush request done (its seq). */
  flushed: 0,
  /** The last close request done (its seq). */
  closed: 1,
} as const;
export const SIGNAL_SLOTS = 2;

export interface WriterThreadSettings {
  readonly path: string;
  readonly logLevel: string;
  readonly flushIntervalMs: number;
  readonly batchSize: number;
  readonly maxBatchSize: number;
  readonly maxRollupKeys: number;
  readonly maxBuffered: number;
  readonly retentionDays: number;
  readonly maxEvents: number;
  readonly maxNamesPerHost?: number;
  readonly pruneIntervalMs?: number;
  /** This thread's connection: page cache, mmap and checkpoint size (database.ts defaults when absent). */
  readonly sqlite?: WriterSqliteSettings;
  /** Notification sinks (secrets included) delivered from this thread (src/notify/). */
  readonly notify?: readonly NotifySinkConfig[];
  /** Incidents from events (src/incidents/); absent: none are kept. */
  readonly incidents?: IncidentSettings;
  /** The query history for retro-hunts (history.*); absent: off. */
  readonly history?: HistorySettings;
}

export interface WriterSqliteSettings {
  readonly cacheSizeKib?: number;
  readonly mmapSizeBytes?: number;
  readonly walAutocheckpointPages?: number;
}

export interface HistorySettings {
  readonly retainDays: number;
  readonly maxRows: number;
}

export interface IncidentSettings {
  readonly autoResolveHours: number;
  /** Severity of each list that sets one. */
  readonly severities: Readonly<Record<string, Severity>>;
  /** false: incidents send no notifications (a fleet notifies centrally, src/central/). Default true. */
  readonly notify?: boolean;
  /** How often quiet incidents are checked for auto-resolve. Default 60,000. */
  readonly sweepIntervalMs?: number;
}

export interface WriterThreadData {
  readonly settings: WriterThreadSettings;
  /** STAT_SLOTS doubles. */
  readonly stats: SharedArrayBuffer;
  /** SIGNAL_SLOTS int32s. */
  readonly signals: SharedArrayBuffer;
  /** ERROR_TEXT_BYTES bytes. */
  readonly errorText: SharedArrayBuffer;
}

export type ToWriter =
  | { readonly kind: 'events'; readonly batch: EncodedEvents }
  | { readonly kind: 'outcomes'; readonly atMs: number; readonly deltas: OutcomeCounts }
  /**
   * Events dropped on the DNS thread since the last such message: their count (from atMs on) and
   * tallies per client, name, list and action. At most one is in flight, so a starved worker's
   * queue cannot grow with them.
   */
  | { readonly kind: 'dropped'; readonly atMs: number; readonly count: number; readonly tallies: readonly EventTally[] }
  | { readonly kind: 'flush'; readonly seq: number }
  /** A write to the list manager's tables, done between event transactions (answered by 'listStored'). */
  | { readonly kind: 'listStore'; readonly id: number; readonly write: ListStoreWrite }
  /** A write to the learned pool addresses (pool-ip-store.ts), answered by 'listStored' too. */
  | { readonly kind: 'poolIps'; readonly id: number; readonly write: PoolIpWrite }
  /** This database's fleet key space claim (database-identity.ts), answered by 'listStored' too. */
  | { readonly kind: 'meta'; readonly id: number; readonly write: MetaWrite }
  /** An operator's acknowledge or resolve (answered by 'incidentChanged'). */
  | { readonly kind: 'incident'; readonly id: number; readonly change: IncidentChange }
  /** A notification from the DNS thread (test, list.failing) for the outbox. */
  | { readonly kind: 'notify'; readonly notification: Notification }
  | { readonly kind: 'close'; readonly seq: number }
  /** A login the stratum honeypot caught: stored, and the host's incident escalated (src/honeypot/). */
  | { readonly kind: 'minerLogin'; readonly login: MinerLogin }
  /** A change to the writer's identity snapshot (inventory, reverse DNS); events after it use it. */
  | { readonly kind: 'identities'; readonly update: IdentityUpdate }
  /** New (client, name, hour) keys and repeat counts for the query history (history-recorder.ts). */
  | { readonly kind: 'history'; readonly batch: HistoryBatch }
  /** A retro-hunt (answered by 'retroHunted'). */
  | { readonly kind: 'retroHunt'; readonly id: number; readonly request: RetroHuntRequest };

export type FromWriter =
  | { readonly kind: 'ready' }
  /** The database could not be opened: the thread ends after this. */
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  /** One pino line, for the DNS thread's logger. */
  | { readonly kind: 'log'; readonly line: string }
  /** The worker reopened the database file (it was deleted or replaced). */
  | { readonly kind: 'reopened' }
  /** A 'listStore' write done (no code) or failed (a catalog code: ERR_CONFLICT, ERR_STORE_WRITE). */
  | { readonly kind: 'listStored'; readonly id: number; readonly code?: string; readonly message?: string }
  /** An 'incident' change done (no code) or refused (ERR_NOT_FOUND, ERR_CONFLICT) or failed. */
  | { readonly kind: 'incidentChanged'; readonly id: number; readonly code?: string; readonly message?: string }
  /** The notification sinks' state, after each change. */
  | { readonly kind: 'notifyStatus'; readonly sinks: readonly SinkStatus[] }
  /** Client addresses the writer recorded events for without an identity (only while asked to report them). */
  | { readonly kind: 'identityMisses'; readonly clientIps: readonly string[] }
  /** A retro-hunt's findings, or its failure (a catalog code). */
  | {
      readonly kind: 'retroHunted';
      readonly id: number;
      readonly result?: RetroHuntResult;
      readonly code?: string;
      readonly message?: string;
    };
