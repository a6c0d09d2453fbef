/** dns/list-matches.ts: blocked and alerted queries counted per list, every event passed on. */
import { expect, test } from 'vitest';
import type { BlockEvent } from '../../src/dns/block-event.js';
import { countListMatches } from '../../src/dns/list-matches.js';
import { blockEvent } from '../helpers/block-events.js';

test('counts per list and action, and passes each event on in order', () => {
  const passed: BlockEvent[] = [];
  const counter = countListMatches({ record: (event) => passed.push(event) });
  const events = [
    blockEvent(1, { list: 'pools' }),
    blockEvent(2, { list: 'pools' }),
    blockEvent(3, { list: 'trial', action: 'alerted' }),
    blockEvent(4, { list: 'pools', action: 'alerted' }),
  ];
  for (const event of events) counter.record(event);
  expect(passed).toEqual(events);
  expect(Object.fromEntries(counter.counts())).toEqual({
    pools: { blocked: 2, alerted: 1 },
    trial: { blocked: 0, alerted: 1 },
  });
});
