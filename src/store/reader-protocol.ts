/**
 * What the DNS thread and the block-log reader thread say to each other (reader-thread.ts,
 * reader-worker.ts): queries by id, and their results or errors, in structured-clone messages.
 */
import type { EventQueries } from './types.js';

export interface ReaderThreadData {
  readonly path: string;
  readonly logLevel: string;
  readonly edgeScanMaxEvents?: number;
}

export type QueryMethod =
  | 'clientsIn'
  | 'events'
  | 'hosts'
  | 'hostsPage'
  | 'host'
  | 'stats'
  | 'incidents'
  | 'incident'
  | 'timeseries'
  | 'overview'
  | 'minerLogins';

/** One query: a method of EventQueries and its arguments. */
export type ReaderQuery = {
  [M in QueryMethod]: {
    readonly kind: 'query';
    readonly id: number;
    readonly method: M;
    readonly args: Parameters<EventQueries[M]>;
  };
}[QueryMethod];

export type ToReader = ReaderQuery | { readonly kind: 'close' };

export type FromReader =
  | { readonly kind: 'ready' }
  /** The database could not be opened; the thread then ends. */
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  | { readonly kind: 'log'; readonly line: string }
  | { readonly kind: 'result'; readonly id: number; readonly value: unknown }
  /** `code` is a catalog code (errors.ts), absent for a failure that is not the store's (a bug). */
  | { readonly kind: 'error'; readonly id: number; readonly code?: string; readonly message: string };
