/**
 * The DNS thread's side of the block log (writer-thread.ts): packs each event into a batch
 * (event-codec.ts) and posts the batch every postBatchSize events or postDelayMs after the first.
 * Holds the buffer bound across both threads: events packed here, held while the thread restarts,
 * and held by the thread count together against maxBuffered; beyond it events are dropped, counted,
 * summed (dropped-events.ts) and sent to the thread with the next batch, with a warning a minute.
 */
import type { Logger } from 'pino';
import type { BlockEvent } from '../dns/block-event.js';
import { createDroppedEvents } from './dropped-events.js';
import { createEventEncoder } from './event-codec.js';
import type { WriterMailbox } from './writer-mailbox.js';
import { STAT } from './writer-protocol.js';
import { eventsHeldBy, lastWriteError, type WriterRestarts } from './writer-restarts.js';

const WARN_INTERVAL_MS = 60_000;
/** Dropped events are summed here, and sent at the latest this long after the first. */
const DROPS_SEND_MS = 60_000;

export interface EventPostingOptions {
  readonly threads: WriterRestarts;
  readonly mailbox: WriterMailbox;
  readonly log: Logger;
  readonly clock: () => number;
  readonly maxBuffered: number;
  readonly postBatchSize: number;
  readonly postDelayMs: number;
  readonly isClosed: () => boolean;
}

export interface EventPosting {
  /** Packs an event for the thread, or drops it (buffer full, or closed). */
  enqueue(event: BlockEvent): void;
  /** Posts the packed events and the drops summed so far, now. */
  post(): void;
  /** Events held across both threads. */
  outstanding(): number;
  /** Events dropped here. */
  readonly droppedHere: number;
  /** The current thread's last write error. */
  lastError(): string | undefined;
}

export function createEventPosting(options: EventPostingOptions): EventPosting {
  const { threads, mailbox, log, clock, maxBuffered, postBatchSize, postDelayMs, isClosed } = options;
  const encoder = createEventEncoder(postBatchSize);
  const dropped = createDroppedEvents();
  let droppedHere = 0;
  let droppedSinceWarn = 0;
  let lastDropWarnMs = Number.NEGATIVE_INFINITY;
  let postTimer: NodeJS.Timeout | undefined;

  /**
   * Sends the drop count and tallies to a running thread that has taken the previous ones: a starved
   * thread's queue must not grow with them. Meanwhile they stay summed here (bounded).
   */
  function sendDrops(): void {
    const generation = threads.current;
    if (generation?.ready !== true || dropped.unsent === 0) return;
    if (generation.droppedMessagesSent > generation.stats[STAT.droppedMessages]!) {
      schedulePost();
      return;
    }
    mailbox.send(generation, dropped.take());
    generation.droppedMessagesSent += 1;
  }

  function post(): void {
    if (postTimer !== undefined) {
      clearTimeout(postTimer);
      postTimer = undefined;
    }
    if (encoder.count > 0) mailbox.send(threads.current, { kind: 'events', batch: encoder.take() });
    sendDrops();
  }

  function schedulePost(): void {
    if (postTimer === undefined) {
      postTimer = setTimeout(post, postDelayMs);
      postTimer.unref();
    }
  }

  function drop(event: BlockEvent): void {
    const n = event.count ?? 1;
    droppedHere += n;
    droppedSinceWarn += n;
    const now = clock();
    // Summed here and sent with the next batch: a message per drop would cost most in a flood.
    if (!isClosed()) {
      if (dropped.unsent > 0 && now - dropped.unsentSinceMs >= DROPS_SEND_MS) sendDrops();
      dropped.add(event, now);
      schedulePost();
    }
    if (now - lastDropWarnMs >= WARN_INTERVAL_MS) {
      log.warn(
        {
          dropped: droppedSinceWarn,
          droppedTotal: droppedHere,
          untallied: dropped.untallied,
          buffered: outstanding(),
          maxBuffered,
          lastError: lastError(),
        },
        'block log buffer full: dropping events until the writer catches up (they still count in host and domain summaries)',
      );
      lastDropWarnMs = now;
      droppedSinceWarn = 0;
    }
  }

  function lastError(): string | undefined {
    const generation = threads.current;
    return generation === undefined ? undefined : lastWriteError(generation);
  }

  function outstanding(): number {
    const generation = threads.current;
    const inWorker = generation === undefined ? 0 : eventsHeldBy(generation);
    return encoder.count + mailbox.heldEvents + inWorker;
  }

  return {
    enqueue(event) {
      if (isClosed() || outstanding() >= maxBuffered) {
        drop(event);
        return;
      }
      encoder.add(event);
      if (encoder.count >= postBatchSize) post();
      else schedulePost();
    },
    post,
    outstanding,
    get droppedHere() {
      return droppedHere;
    },
    lastError,
  };
}
