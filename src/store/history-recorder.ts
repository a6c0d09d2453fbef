/**
 * The query history's DNS-thread half: the resolver tells it of every query it answers from the
 * cache or forwards upstream (blocked ones are events already). It keeps the (client, name) pairs of
 * the current hour in a bounded table, so a repeated query costs two Map lookups and a counter
 * update in a typed array: no allocation and no message. A new pair is queued and shipped to the writer thread in
 * batches (ship: writer-thread.ts → query-history.ts); the repeats are shipped as counts every
 * repeatsEveryMs, when the hour ends and at flush().
 *
 * Bounds: at most maxPerHour pairs an hour; further new pairs are dropped and counted (one warning
 * an hour). The table is emptied at each hour's start.
 */
import type { Logger } from 'pino';
import { PoolsinkError } from '../errors.js';
import type { HistoryBatch } from './history-protocol.js';
import { HOUR_MS } from './schema.js';

export interface QueryHistorySink {
  /** A query answered from the cache or forwarded upstream. */
  note(clientIp: string, qname: string, nowMs: number): void;
}

export interface HistoryRecorderOptions {
  readonly maxPerHour: number;
  /** Hands a batch to the writer thread. */
  readonly ship: (batch: HistoryBatch) => void;
  readonly log: Logger;
  /** New pairs queued before a batch is shipped. Default 512. */
  readonly batchSize?: number;
  /** The longest a new pair waits before it is shipped. Default 1000. */
  readonly delayMs?: number;
  /** How often the hour's repeat counts are shipped (besides at the hour's end). Default 60,000. */
  readonly repeatsEveryMs?: number;
}

export interface HistoryRecorderStats {
  /** Pairs of the current hour. */
  readonly pairs: number;
  /** New pairs dropped since start (maxPerHour reached). */
  readonly dropped: number;
  /** Pairs shipped since start. */
  readonly shipped: number;
}

export interface HistoryRecorder extends QueryHistorySink {
  /** Ships what is queued and the repeat counts of the current hour. */
  flush(): void;
  /** flush(), then stops the timer; later notes are ignored. */
  close(): void;
  readonly stats: HistoryRecorderStats;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new PoolsinkError(
      'ERR_CONFIG_INVALID',
      `history recorder: ${name} must be a positive integer (got ${value})`,
    );
  return value;
}

export function createHistoryRecorder(options: HistoryRecorderOptions): HistoryRecorder {
  const { ship, log } = options;
  const maxPerHour = positive('maxPerHour', options.maxPerHour);
  const batchSize = positive('batchSize', options.batchSize ?? 512);
  const delayMs = positive('delayMs', options.delayMs ?? 1000);
  const repeatsEveryMs = positive('repeatsEveryMs', options.repeatsEveryMs ?? 60_000);
  let repeatsTimer: NodeJS.Timeout | undefined;
  /** client → qname → the pair's slot in this hour's arrays. */
  let byClient = new Map<string, Map<string, number>>();
  /** Per slot: its client, name, and repeats not yet shipped (grown by doubling up to maxPerHour). */
  let slotClients: string[] = [];
  let slotNames: string[] = [];
  let repeats = new Int32Array(Math.min(maxPerHour, 1024));
  let hourMs = Number.NEGATIVE_INFINITY;
  let pairs = 0;
  let droppedThisHour = 0;
  let dropped = 0;
  let shipped = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let clientIps: string[] = [];
  let qnames: string[] = [];
  let firstMs: number[] = [];

  function shipQueued(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (clientIps.length === 0) return;
    const counts = new Array<number>(clientIps.length).fill(1);
    const batch: HistoryBatch = { hourMs, clientIps, qnames, firstMs, counts };
    shipped += clientIps.length;
    clientIps = [];
    qnames = [];
    firstMs = [];
    ship(batch);
  }

  /** The repeats counted since the last time, as one or more batches; the counters go back to 0. */
  function shipRepeats(): void {
    let batch = { clientIps: [] as string[], qnames: [] as string[], counts: [] as number[] };
    // The hour's last millisecond: min(first_ms, ...) in the upsert keeps the row's real first time.
    const lateMs = hourMs + HOUR_MS - 1;
    const send = (): void => {
      if (batch.clientIps.length === 0) return;
      ship({ hourMs, ...batch, firstMs: new Array<number>(batch.clientIps.length).fill(lateMs) });
      batch = { clientIps: [], qnames: [], counts: [] };
    };
    for (let slot = 0; slot < pairs; slot += 1) {
      const count = repeats[slot] ?? 0;
      if (count === 0) continue;
      batch.clientIps.push(slotClients[slot] ?? '');
      batch.qnames.push(slotNames[slot] ?? '');
      batch.counts.push(count);
      repeats[slot] = 0;
      if (batch.clientIps.length >= batchSize) send();
    }
    send();
  }

  function startHour(nowMs: number): void {
    shipQueued();
    if (pairs > 0) shipRepeats();
    if (droppedThisHour > 0)
      log.warn(
        { dropped: droppedThisHour, maxPerHour, hour: new Date(hourMs).toISOString() },
        'query history: more new (client, name) pairs in an hour than history.maxPerHour; the rest were not recorded',
      );
    byClient = new Map();
    slotClients = [];
    slotNames = [];
    repeats.fill(0);
    pairs = 0;
    droppedThisHour = 0;
    hourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  }

  function flush(): void {
    shipQueued();
    if (pairs > 0) shipRepeats();
  }

  return {
    note(clientIp, qname, nowMs) {
      if (closed) return;
      if (nowMs < hourMs || nowMs >= hourMs + HOUR_MS) startHour(nowMs);
      let names = byClient.get(clientIp);
      if (names !== undefined) {
        const slot = names.get(qname);
        if (slot !== undefined) {
          repeats[slot] = (repeats[slot] ?? 0) + 1;
          return;
        }
      }
      if (pairs >= maxPerHour) {
        droppedThisHour += 1;
        dropped += 1;
        return;
      }
      if (names === undefined) {
        names = new Map();
        byClient.set(clientIp, names);
      }
      if (pairs === repeats.length) {
        const grown = new Int32Array(Math.min(maxPerHour, repeats.length * 2));
        grown.set(repeats);
        repeats = grown;
      }
      if (repeatsTimer === undefined) {
        repeatsTimer = setInterval(flush, repeatsEveryMs);
        repeatsTimer.unref();
      }
      names.set(qname, pairs);
      slotClients.push(clientIp);
      slotNames.push(qname);
      pairs += 1;
      clientIps.push(clientIp);
      qnames.push(qname);
      firstMs.push(nowMs);
      if (clientIps.length >= batchSize) shipQueued();
      else if (timer === undefined) {
        timer = setTimeout(shipQueued, delayMs);
        timer.unref();
      }
    },
    flush,
    close() {
      if (closed) return;
      flush();
      clearInterval(repeatsTimer);
      closed = true;
    },
    get stats() {
      return { pairs, dropped, shipped };
    },
  };
}
