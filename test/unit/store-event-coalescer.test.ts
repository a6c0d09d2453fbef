import { describe, expect, test } from 'vitest';
import type { BlockEvent } from '../../src/dns/block-event.js';
import { createEventCoalescer } from '../../src/store/event-coalescer.js';

function event(timeMs: number, overrides: Partial<BlockEvent> = {}): BlockEvent {
  return {
    timeMs,
    clientIp: '10.0.0.5',
    clientPort: 40_000 + timeMs,
    protocol: 'udp',
    qname: 'xmr.pool.example',
    qtype: 1,
    list: 'pools',
    rule: 'pool.example',
    action: 'blocked',
    answer: 'nxdomain',
    ...overrides,
  };
}

function setUp(windowMs = 10_000, slots?: number) {
  const emitted: BlockEvent[] = [];
  const coalescer = createEventCoalescer({
    windowMs,
    emit: (e) => emitted.push(e),
    ...(slots !== undefined ? { slots } : {}),
  });
  const total = () => emitted.reduce((sum, e) => sum + (e.count ?? 1), 0);
  return { coalescer, emitted, total };
}

describe('event coalescer', () => {
  test('the first event goes out at once; repeats become one follow-up with count and times', () => {
    const { coalescer, emitted, total } = setUp();
    coalescer.offer(event(1000));
    expect(emitted).toEqual([event(1000)]);
    for (let t = 1001; t < 1050; t += 1) coalescer.offer(event(t));
    expect(emitted).toHaveLength(1);
    coalescer.sweep(5000);
    expect(emitted).toHaveLength(1);
    coalescer.sweep(11_000);
    expect(emitted).toHaveLength(2);
    expect(emitted[1]).toEqual({ ...event(1001), count: 49, lastMs: 1049 });
    expect(total()).toBe(50);
    expect(coalescer.open).toBe(0);
  });

  test('a first event without repeats closes without a follow-up', () => {
    const { coalescer, emitted } = setUp();
    coalescer.offer(event(1000));
    coalescer.sweep(20_000);
    expect(emitted).toHaveLength(1);
    expect(coalescer.open).toBe(0);
  });

  test.each<[string, Partial<BlockEvent>]>([
    ['client', { clientIp: '10.0.0.6' }],
    ['name', { qname: 'other.pool.example' }],
    ['type', { qtype: 28 }],
    ['list', { list: 'other' }],
    ['action', { action: 'alerted' }],
  ])('a different %s is a separate window', (_field, change) => {
    const { coalescer, emitted } = setUp();
    coalescer.offer(event(1000));
    coalescer.offer(event(1001, change));
    coalescer.offer(event(1002));
    coalescer.offer(event(1003, change));
    expect(emitted).toEqual([event(1000), event(1001, change)]);
    coalescer.flush();
    expect(emitted.slice(2)).toEqual(
      expect.arrayContaining([
        { ...event(1002), count: 1, lastMs: 1002 },
        { ...event(1003, change), count: 1, lastMs: 1003 },
      ]),
    );
  });

  test('a repeat after the window (before any sweep) closes the old window and starts a new one', () => {
    const { coalescer, emitted } = setUp(100);
    coalescer.offer(event(0));
    coalescer.offer(event(50));
    coalescer.offer(event(100));
    expect(emitted).toEqual([event(0), { ...event(50), count: 1, lastMs: 50 }, event(100)]);
  });

  test('when every slot a key may use is taken, the oldest window is closed and its follow-up emitted', () => {
    // 8 slots: every key probes the whole table.
    const { coalescer, emitted, total } = setUp(10_000, 8);
    for (let i = 0; i < 8; i += 1) {
      coalescer.offer(event(i, { qname: `n${i}.pool.example` }));
      coalescer.offer(event(i + 100, { qname: `n${i}.pool.example` }));
    }
    expect(coalescer.open).toBe(8);
    expect(emitted).toHaveLength(8);
    coalescer.offer(event(500, { qname: 'new.pool.example' }));
    expect(coalescer.open).toBe(8);
    // n0 started first: its repeat went out, then the new name's first event.
    expect(emitted.slice(8)).toEqual([
      { ...event(100, { qname: 'n0.pool.example' }), count: 1, lastMs: 100 },
      event(500, { qname: 'new.pool.example' }),
    ]);
    coalescer.flush();
    expect(total()).toBe(17);
  });

  test('colliding keys in a small table stay exact', () => {
    const { coalescer, total } = setUp(10_000, 8);
    let offered = 0;
    for (let round = 0; round < 5; round += 1) {
      for (let i = 0; i < 20; i += 1) {
        coalescer.offer(event(round * 10 + i, { qname: `k${i % 12}.pool.example` }));
        offered += 1;
      }
    }
    coalescer.flush();
    expect(total()).toBe(offered);
  });

  test('names with any byte hash and compare as themselves', () => {
    const { coalescer, emitted } = setUp();
    coalescer.offer(event(1, { qname: 'a\u0000b.pool' }));
    coalescer.offer(event(2, { qname: 'a\u0000c.pool' }));
    coalescer.offer(event(3, { qname: 'a\u0000b.pool' }));
    expect(emitted.map((e) => e.qname)).toEqual(['a\u0000b.pool', 'a\u0000c.pool']);
  });

  test('boundary splits of the key (client, name, list) are different keys', () => {
    const { coalescer, emitted } = setUp();
    coalescer.offer(event(1, { clientIp: '10.0.0.5', qname: 'a.pool' }));
    coalescer.offer(event(2, { clientIp: '10.0.0.5a', qname: '.pool' }));
    coalescer.offer(event(3, { qname: 'a.pool', list: 'x' }));
    coalescer.offer(event(4, { qname: 'a.poolx', list: '' }));
    expect(emitted).toHaveLength(4);
  });

  test.each<[string, Partial<BlockEvent>]>([
    [
      'a 255-byte name with a long list name',
      { qname: `${'a'.repeat(63)}.`.repeat(4).slice(0, 255), list: 'l'.repeat(64) },
    ],
    ['a key longer than the table holds', { qname: 'a'.repeat(400) }],
    ['a character above U+00FF', { qname: 'a\u0100.pool' }],
  ])('%s: repeats are counted exactly (coalesced or passed on)', (_case, change) => {
    const { coalescer, emitted, total } = setUp();
    for (let t = 1; t <= 5; t += 1) coalescer.offer(event(t, change));
    coalescer.flush();
    expect(total()).toBe(5);
    for (const e of emitted) expect(e.qname).toBe(change.qname);
  });
});
