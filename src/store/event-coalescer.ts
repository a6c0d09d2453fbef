/**
 * Repeats of one block event summed on the DNS thread before they reach the writer thread. A miner
 * retries the same pool name again and again; a row per retry costs the writer 35-70 µs. Events of
 * one (client, name, type, list, action) within windowMs of the first are one window:
 *
 * - the first event of a window is passed on at once (a row with count 1), so incidents and
 *   notifications are never delayed;
 * - repeats only bump the window's slot (no allocation);
 * - when the window ends (sweep(), about once a second), or its slot is needed for another key, or
 *   on flush(), one follow-up event carries the repeat count and the first and last repeat times.
 *
 * The table is fixed-size open addressing: a key hashes to a run of PROBE slots, all of which a
 * lookup checks, so a slot can be emptied without tombstones. When all of a run is taken, the
 * window that started first is closed (its follow-up emitted) and its slot reused: the table never
 * grows, and a flood of unique names costs one hash and a short scan per event.
 */
import type { BlockEvent } from '../dns/block-event.js';

/** Slots checked per key. */
const PROBE = 8;

export interface EventCoalescerOptions {
  /** How long repeats of the first event are summed. Must be positive (0 means: no coalescer). */
  readonly windowMs: number;
  /** Slots in the table, rounded up to a power of two. Default 16,384. */
  readonly slots?: number;
  /** Receives each event to store as a row: first events and follow-ups. */
  readonly emit: (event: BlockEvent) => void;
}

export interface EventCoalescer {
  /** Passes a first event on (emit) or sums a repeat into its window. */
  offer(event: BlockEvent): void;
  /** Closes the windows that ended before nowMs, emitting their follow-ups. */
  sweep(nowMs: number): void;
  /** Closes every window, emitting the follow-ups (stop, drain, flush). */
  flush(): void;
  /** Open windows (tests). */
  readonly open: number;
}

/** FNV-1a over a text's char codes, then a separator: no string is built. */
function mix(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ 0x1ff, 0x01000193);
}

function hashOf(event: BlockEvent): number {
  const h = mix(mix(mix(0x811c9dc5 ^ event.qtype, event.clientIp), event.qname), event.list);
  return (event.action === 'alerted' ? h ^ 0x5bd1e995 : h) >>> 0;
}

function sameKey(a: BlockEvent, b: BlockEvent): boolean {
  return (
    a.qname === b.qname &&
    a.clientIp === b.clientIp &&
    a.qtype === b.qtype &&
    a.list === b.list &&
    a.action === b.action
  );
}

export function createEventCoalescer(options: EventCoalescerOptions): EventCoalescer {
  const { windowMs, emit } = options;
  let size = 1;
  while (size < Math.max(PROBE, options.slots ?? 16_384)) size *= 2;
  const mask = size - 1;
  /** The window's first event (its key); undefined: the slot is free. */
  const firsts: (BlockEvent | undefined)[] = new Array<BlockEvent | undefined>(size).fill(undefined);
  /** The first repeat (its port, protocol, rule and answer go into the follow-up). */
  const repeats: (BlockEvent | undefined)[] = new Array<BlockEvent | undefined>(size).fill(undefined);
  const hashes = new Uint32Array(size);
  const startMs = new Float64Array(size);
  const repeatCount = new Float64Array(size);
  const repeatLastMs = new Float64Array(size);
  let open = 0;

  function close(slot: number): void {
    const repeat = repeats[slot];
    if (repeat !== undefined) {
      emit({ ...repeat, count: repeatCount[slot]!, lastMs: repeatLastMs[slot]! });
      repeats[slot] = undefined;
    }
    firsts[slot] = undefined;
    repeatCount[slot] = 0;
    open -= 1;
  }

  function start(slot: number, hash: number, event: BlockEvent): void {
    firsts[slot] = event;
    hashes[slot] = hash;
    startMs[slot] = event.timeMs;
    repeatCount[slot] = 0;
    open += 1;
    emit(event);
  }

  return {
    offer(event: BlockEvent): void {
      const hash = hashOf(event);
      let free = -1;
      let oldest = -1;
      for (let i = 0; i < PROBE; i += 1) {
        const slot = (hash + i) & mask;
        const first = firsts[slot];
        if (first === undefined) {
          if (free < 0) free = slot;
          continue;
        }
        if (hashes[slot] === hash && sameKey(first, event)) {
          if (event.timeMs - startMs[slot]! >= windowMs) {
            close(slot);
            start(slot, hash, event);
            return;
          }
          if (repeats[slot] === undefined) repeats[slot] = event;
          repeatCount[slot] = repeatCount[slot]! + 1;
          if (event.timeMs > repeatLastMs[slot]! || repeatCount[slot] === 1) repeatLastMs[slot] = event.timeMs;
          return;
        }
        if (oldest < 0 || startMs[slot]! < startMs[oldest]!) oldest = slot;
      }
      if (free < 0) {
        close(oldest);
        free = oldest;
      }
      start(free, hash, event);
    },
    sweep(nowMs: number): void {
      if (open === 0) return;
      for (let slot = 0; slot < size; slot += 1) {
        if (firsts[slot] !== undefined && nowMs - startMs[slot]! >= windowMs) close(slot);
      }
    },
    flush(): void {
      if (open === 0) return;
      for (let slot = 0; slot < size; slot += 1) if (firsts[slot] !== undefined) close(slot);
    },
    get open(): number {
      return open;
    },
  };
}
