/**
 * Block events packed for the trip to the writer thread. Structured-cloning an array of event
 * objects costs about 2.5 µs per event on the DNS thread; packing each batch into one Float64Array
 * (numbers and string lengths) and one string costs about 0.6 µs. Strings are length-prefixed, not
 * separated: a qname is raw latin1 from the wire and may hold any byte.
 */
import type { BlockAction, BlockEvent, Protocol } from '../dns/block-event.js';
import { PoolsinkError } from '../errors.js';

/** Numbers per event: time, port, qtype, protocol, action, the lengths of six strings, count, last time. */
const SLOTS = 13;
const NO_VIA = -1;

export interface EncodedEvents {
  readonly count: number;
  readonly numbers: Float64Array;
  readonly text: string;
}

export interface EventEncoder {
  /** Events added since the last take(). */
  readonly count: number;
  add(event: BlockEvent): void;
  /** The events added so far, packed; resets the encoder. */
  take(): EncodedEvents;
}

export function createEventEncoder(capacity: number): EventEncoder {
  let numbers = new Float64Array(capacity * SLOTS);
  let text = '';
  let count = 0;
  return {
    get count(): number {
      return count;
    },
    add(event: BlockEvent): void {
      if (count * SLOTS === numbers.length) {
        const grown = new Float64Array(numbers.length * 2);
        grown.set(numbers);
        numbers = grown;
      }
      const at = count * SLOTS;
      const via = event.via;
      numbers[at] = event.timeMs;
      numbers[at + 1] = event.clientPort;
      numbers[at + 2] = event.qtype;
      numbers[at + 3] = event.protocol === 'tcp' ? 1 : 0;
      numbers[at + 4] = event.action === 'alerted' ? 1 : 0;
      numbers[at + 5] = event.clientIp.length;
      numbers[at + 6] = event.qname.length;
      numbers[at + 7] = event.list.length;
      numbers[at + 8] = event.rule.length;
      numbers[at + 9] = event.answer.length;
      numbers[at + 10] = via === undefined ? NO_VIA : via.length;
      numbers[at + 11] = event.count ?? 1;
      numbers[at + 12] = event.lastMs ?? event.timeMs;
      text += event.clientIp + event.qname + event.list + event.rule + event.answer + (via ?? '');
      count += 1;
    },
    take(): EncodedEvents {
      const batch = { count, numbers: numbers.slice(0, count * SLOTS), text };
      count = 0;
      text = '';
      return batch;
    },
  };
}

/**
 * Unpacks a batch into events, in the order they were added. Throws ERR_STORE_WRITE for a batch
 * whose lengths do not add up (a bug: batches never come from the network).
 */
export function decodeEvents(batch: EncodedEvents): BlockEvent[] {
  const { count, numbers, text } = batch;
  if (!Number.isInteger(count) || count < 0 || numbers.length !== count * SLOTS) {
    throw new PoolsinkError('ERR_STORE_WRITE', `event batch: ${numbers.length} numbers for ${count} events`);
  }
  const events: BlockEvent[] = new Array<BlockEvent>(count);
  let pos = 0;
  const next = (length: number): string => {
    const value = text.slice(pos, pos + length);
    pos += length;
    return value;
  };
  for (let i = 0; i < count; i += 1) {
    const at = i * SLOTS;
    const protocol: Protocol = numbers[at + 3] === 1 ? 'tcp' : 'udp';
    const action: BlockAction = numbers[at + 4] === 1 ? 'alerted' : 'blocked';
    const clientIp = next(numbers[at + 5]!);
    const qname = next(numbers[at + 6]!);
    const list = next(numbers[at + 7]!);
    const rule = next(numbers[at + 8]!);
    const answer = next(numbers[at + 9]!);
    const viaLength = numbers[at + 10]!;
    const base = {
      timeMs: numbers[at]!,
      clientIp,
      clientPort: numbers[at + 1]!,
      protocol,
      qname,
      qtype: numbers[at + 2]!,
      list,
      rule,
      action,
      answer,
    };
    const count = numbers[at + 11]!;
    const withVia = viaLength === NO_VIA ? base : { ...base, via: next(viaLength) };
    events[i] = count === 1 ? withVia : { ...withVia, count, lastMs: numbers[at + 12]! };
  }
  if (pos !== text.length)
    throw new PoolsinkError('ERR_STORE_WRITE', `event batch: ${text.length - pos} characters left over`);
  return events;
}
