/**
 * Events the block log dropped on the DNS thread (its buffer was full), summed until writer-thread.ts
 * sends them to the writer thread in one 'dropped' message: how many since when, and a tally per
 * client, name, list and action, so host and domain summaries still count them. A message per drop
 * would cost most in a flood. The tallies are bounded: past MAX_TALLY_KEYS distinct tuples a drop is
 * only counted (`untallied`).
 */
import type { EventTally } from './batch-writer.js';
import type { ToWriter } from './writer-protocol.js';

/** Distinct (client, name, list, action) tallies of dropped events held between posts. */
const MAX_TALLY_KEYS = 10_000;

/** The fields of a BlockEvent a tally keeps. */
export type DroppedEvent = Pick<EventTally, 'clientIp' | 'qname' | 'list' | 'action'> & {
  readonly timeMs: number;
  /** Queries the event stands for (coalesced repeats); default 1. */
  readonly count?: number;
  readonly lastMs?: number;
};

export type DroppedMessage = Extract<ToWriter, { kind: 'dropped' }>;

export interface DroppedEvents {
  /** Counts one event dropped at `nowMs`. */
  add(event: DroppedEvent, nowMs: number): void;
  /** Drops counted since the last take() (none also means no tallies). */
  readonly unsent: number;
  /** When the first of them was dropped. */
  readonly unsentSinceMs: number;
  /** Dropped events beyond MAX_TALLY_KEYS, in no tally (ever, not since the last take()). */
  readonly untallied: number;
  /** The count and tallies as a message (none unsent: a count of 0); starts afresh. */
  take(): DroppedMessage;
}

type MutableTally = { -readonly [K in keyof EventTally]: EventTally[K] };

export function createDroppedEvents(): DroppedEvents {
  const tallies = new Map<string, MutableTally>();
  let unsent = 0;
  let unsentSinceMs = 0;
  let untallied = 0;

  function tally(event: DroppedEvent): void {
    const { clientIp, qname, list, action, timeMs } = event;
    const n = event.count ?? 1;
    const lastMs = event.lastMs ?? timeMs;
    // Length-prefixed, so no name can make two different tuples share a key.
    const key = `${clientIp.length}:${clientIp}${qname.length}:${qname}${list.length}:${list}${action}`;
    const existing = tallies.get(key);
    if (existing !== undefined) {
      existing.count += n;
      if (timeMs < existing.firstMs) existing.firstMs = timeMs;
      if (lastMs > existing.lastMs) existing.lastMs = lastMs;
    } else if (tallies.size < MAX_TALLY_KEYS) {
      tallies.set(key, { clientIp, qname, list, action, count: n, firstMs: timeMs, lastMs });
    } else {
      untallied += n;
    }
  }

  return {
    add(event, nowMs) {
      if (unsent === 0) unsentSinceMs = nowMs;
      unsent += event.count ?? 1;
      tally(event);
    },
    get unsent() {
      return unsent;
    },
    get unsentSinceMs() {
      return unsentSinceMs;
    },
    get untallied() {
      return untallied;
    },
    take() {
      const message: DroppedMessage = {
        kind: 'dropped',
        atMs: unsentSinceMs,
        count: unsent,
        tallies: [...tallies.values()],
      };
      unsent = 0;
      tallies.clear();
      return message;
    },
  };
}
