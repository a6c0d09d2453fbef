/** A block event as the resolver reports one, with any field overridden. */
import type { BlockEvent } from '../../src/dns/block-event.js';

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
