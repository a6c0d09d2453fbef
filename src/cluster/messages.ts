/**
 * What the primary and its resolver processes say to each other over the cluster IPC channel
 * (advanced serialization: typed arrays travel as bytes). One discriminated union each way.
 */
import type { IpListInput } from '../blocklist/ip-blocklist.js';
import type { Config } from '../config/types.js';
import type { BlockEvent } from '../dns/block-event.js';
import type { HostPort } from '../net/address.js';
import type { HistoryBatch } from '../store/history-protocol.js';
import type { OutcomeCounts } from '../store/types.js';
import type { MatcherImageRef } from './image-file.js';
import type { WorkerSnapshot } from './snapshot.js';

export type ToWorker =
  | {
      readonly t: 'start';
      readonly workerId: number;
      readonly config: Config;
      readonly image: MatcherImageRef;
      readonly ipLists: readonly IpListInput[];
    }
  /** A list swap, allowlist change or runtime list: the whole new matcher. */
  | { readonly t: 'matcher'; readonly image: MatcherImageRef }
  /** The response-IP blocklist's inputs changed (ip lists, learned pool addresses). */
  | { readonly t: 'ipLists'; readonly lists: readonly IpListInput[] }
  /** A reload the primary applied: the worker applies the same configuration's live keys. */
  | { readonly t: 'reload'; readonly config: Config }
  | { readonly t: 'snapshot'; readonly id: number }
  /** Answered once every message before it has taken effect (a reload included). */
  | { readonly t: 'sync'; readonly id: number }
  /** Stop accepting, answer what is in flight, send what is buffered, then exit. */
  | { readonly t: 'drain' };

export type FromWorker =
  /** The worker's script has loaded and listens: the primary answers with 'start'. */
  | { readonly t: 'hello' }
  | { readonly t: 'log'; readonly line: string }
  | { readonly t: 'ready'; readonly udp: readonly HostPort[]; readonly tcp: readonly HostPort[] }
  | { readonly t: 'failed'; readonly code: string; readonly message: string }
  /** Block events, batched (those of one event-loop turn, at most EVENT_BATCH). */
  | { readonly t: 'events'; readonly events: readonly BlockEvent[] }
  | { readonly t: 'outcomes'; readonly deltas: OutcomeCounts }
  /** Query-history keys (history.enabled), batched by the worker's own recorder. */
  | { readonly t: 'history'; readonly batch: HistoryBatch }
  | { readonly t: 'snapshot'; readonly id: number; readonly snapshot: WorkerSnapshot }
  | { readonly t: 'synced'; readonly id: number }
  /** The worker has read this image's file: the primary may remove it once superseded. */
  | { readonly t: 'imageRead'; readonly generation: number }
  | { readonly t: 'drained' };

export const EVENT_BATCH = 512;
