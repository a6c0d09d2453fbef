import { describe, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import { createEventEncoder, decodeEvents } from '../../src/store/event-codec.js';
import { blockEvent } from '../helpers/block-events.js';

describe('event codec', () => {
  test('round-trips every field, in order, including names with any byte', () => {
    const events = [
      blockEvent(1_700_000_000_123),
      blockEvent(1_700_000_000_124, {
        protocol: 'tcp',
        action: 'alerted',
        answer: 'forwarded',
        qtype: 65535,
        clientPort: 65535,
      }),
      blockEvent(1_700_000_000_125, {
        qname: 'a\tb\nc\u0000d\u00ff.pool.example',
        rule: '',
        list: 'x',
        via: 'cdn.example',
      }),
      blockEvent(1_700_000_000_126, { clientIp: '2001:db8::1', via: '' }),
      blockEvent(0, { qname: '' }),
    ];
    const encoder = createEventEncoder(2); // smaller than the batch: the encoder grows
    for (const event of events) encoder.add(event);
    expect(encoder.count).toBe(5);
    const batch = encoder.take();
    expect(encoder.count).toBe(0);
    expect(decodeEvents(batch)).toEqual(events);
    // The encoder is reusable after take().
    encoder.add(events[2]!);
    expect(decodeEvents(encoder.take())).toEqual([events[2]]);
    expect(decodeEvents(encoder.take())).toEqual([]);
  });

  test.each([
    ['numbers for another count', (b: ReturnType<typeof batchOf>) => ({ ...b, count: b.count + 1 })],
    ['text left over', (b: ReturnType<typeof batchOf>) => ({ ...b, text: `${b.text}x` })],
    ['a negative count', (b: ReturnType<typeof batchOf>) => ({ ...b, count: -1 })],
  ])('a batch with %s is ERR_STORE_WRITE', (_label, spoil) => {
    let thrown: unknown;
    try {
      decodeEvents(spoil(batchOf()));
    } catch (err: unknown) {
      thrown = err;
    }
    expect(isPoolsinkError(thrown, 'ERR_STORE_WRITE')).toBe(true);
  });
});

function batchOf() {
  const encoder = createEventEncoder(4);
  encoder.add(blockEvent(1));
  encoder.add(blockEvent(2, { qname: 'b.pool.example' }));
  return encoder.take();
}
