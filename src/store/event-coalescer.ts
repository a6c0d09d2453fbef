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
 *
 * A window's key is copied into the table's own bytes (client, name and list, latin1), not kept as
 * the event object: under a flood of unique names every event would otherwise stay referenced for
 * about a table's worth of queries, long enough to be promoted to V8's old generation, and the
 * garbage collector's threads then cost several µs per query (measured). A key longer than
 * KEY_BYTES or with a character above U+00FF (never from the wire) is passed on uncoalesced.
 */
import type { BlockEvent } from '../dns/block-event.js';

/** Slots checked per key. */
const PROBE = 8;
/** Bytes of key per slot: a 255-byte name, an IPv6 address with a zone, a 64-character list name. */
const KEY_BYTES = 384;
/** Key parts (client, name, list): each one's length is kept. */
const PARTS = 3;

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

export function createEventCoalescer(options: EventCoalescerOptions): EventCoalescer {
  const { windowMs, emit } = options;
  let size = 1;
  while (size < Math.max(PROBE, options.slots ?? 16_384)) size *= 2;
  const mask = size - 1;
  /** Each slot's key: client, name and list bytes (KEY_BYTES per slot), their lengths, type and action. */
  const keyBytes = new Uint8Array(size * KEY_BYTES);
  const keyLengths = new Uint16Array(size * PARTS);
  const keyTypes = new Int32Array(size);
  /** 1 while the slot holds a window. */
  const used = new Uint8Array(size);
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
    used[slot] = 0;
    repeatCount[slot] = 0;
    open -= 1;
  }

  /** Copies one key part into the slot's bytes from `at`; the next free position, or -1 if it does not fit. */
  function storePart(slot: number, part: number, at: number, text: string): number {
    const base = slot * KEY_BYTES;
    if (at + text.length > KEY_BYTES) return -1;
    for (let i = 0; i < text.length; i += 1) {
      const code = text.charCodeAt(i);
      if (code > 0xff) return -1;
      keyBytes[base + at + i] = code;
    }
    keyLengths[slot * PARTS + part] = text.length;
    return at + text.length;
  }

  /** Whether one key part of the slot, from `at`, equals `text`. */
  function samePart(slot: number, part: number, at: number, text: string): boolean {
    if (keyLengths[slot * PARTS + part] !== text.length) return false;
    const base = slot * KEY_BYTES + at;
    for (let i = text.length - 1; i >= 0; i -= 1) if (keyBytes[base + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  function typeOf(event: BlockEvent): number {
    return event.action === 'alerted' ? -1 - event.qtype : event.qtype;
  }

  function sameKey(slot: number, event: BlockEvent): boolean {
    const { clientIp, qname, list } = event;
    return (
      keyTypes[slot] === typeOf(event) &&
      samePart(slot, 1, clientIp.length, qname) &&
      samePart(slot, 0, 0, clientIp) &&
      samePart(slot, 2, clientIp.length + qname.length, list)
    );
  }

  /** Opens a window in `slot` (free); false when the key cannot be stored (too long). */
  function start(slot: number, hash: number, event: BlockEvent): boolean {
    let at = storePart(slot, 0, 0, event.clientIp);
    if (at >= 0) at = storePart(slot, 1, at, event.qname);
    if (at >= 0) at = storePart(slot, 2, at, event.list);
    if (at < 0) return false;
    used[slot] = 1;
    keyTypes[slot] = typeOf(event);
    hashes[slot] = hash;
    startMs[slot] = event.timeMs;
    repeatCount[slot] = 0;
    open += 1;
    return true;
  }

  return {
    offer(event: BlockEvent): void {
      if (event.clientIp.length + event.qname.length + event.list.length > KEY_BYTES) {
        emit(event);
        return;
      }
      const hash = hashOf(event);
      let free = -1;
      let oldest = -1;
      for (let i = 0; i < PROBE; i += 1) {
        const slot = (hash + i) & mask;
        if (used[slot] === 0) {
          if (free < 0) free = slot;
          continue;
        }
        if (hashes[slot] === hash && sameKey(slot, event)) {
          if (event.timeMs - startMs[slot]! >= windowMs) {
            close(slot);
            start(slot, hash, event);
            emit(event);
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
      emit(event);
    },
    sweep(nowMs: number): void {
      if (open === 0) return;
      for (let slot = 0; slot < size; slot += 1) {
        if (used[slot] === 1 && nowMs - startMs[slot]! >= windowMs) close(slot);
      }
    },
    flush(): void {
      if (open === 0) return;
      for (let slot = 0; slot < size; slot += 1) if (used[slot] === 1) close(slot);
    },
    get open(): number {
      return open;
    },
  };
}
