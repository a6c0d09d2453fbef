/** Block events as the resolver reports them and as the store returns them, with any field overridden. */
import type { BlockEvent } from '../../src/dns/block-event.js';
import type { StoredEvent } from '../../src/store/types.js';

/** A block event as the resolver reports one. */
export function blockEvent(timeMs: number, overrides: Partial<BlockEvent> = {}): BlockEvent {
  return {
    timeMs,
    clientIp: '10.0.0.1',
    clientPort: 40000,
    protocol: 'udp',
    qname: 'pool.example',
    qtype: 1,
    list: 'miners',
    rule: 'pool.example',
    action: 'blocked',
    answer: 'nxdomain',
    ...overrides,
  };
}

/** An event row as the store's queries return it: row `id` at `timeMs`, one query. */
export function storedEvent(id: number, timeMs: number, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    id,
    timeMs,
    clientIp: '10.0.0.1',
    clientPort: 5353,
    protocol: 'udp',
    qname: 'x.pool.example',
    qtype: 1,
    list: 'pools',
    rule: 'pool.example',
    action: 'blocked',
    answer: 'nxdomain',
    via: null,
    incidentId: null,
    count: 1,
    lastMs: timeMs,
    ...overrides,
  };
}
