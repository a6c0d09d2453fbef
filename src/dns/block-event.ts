/**
 * What a block or an alert leaves behind: the event the resolver records and the sink it records
 * it into (the store's writer thread in production). Types only, so store/ and admin/ can use them
 * without importing the resolver.
 */
export type Protocol = 'udp' | 'tcp';

export type BlockAction = 'blocked' | 'alerted';

export interface BlockEvent {
  readonly timeMs: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly protocol: Protocol;
  readonly qname: string;
  readonly qtype: number;
  readonly list: string;
  readonly rule: string;
  readonly action: BlockAction;
  /** The answer given: the block response kind, or 'forwarded' for alerts. */
  readonly answer: string;
  /** Set when the block came from a CNAME in the upstream answer (cloaking), not the qname. */
  readonly via?: string;
  /**
   * Queries this event stands for (default 1): a follow-up of the block log's coalescing
   * (store/event-coalescer.ts) sums the repeats of one client, name, type, list and action.
   */
  readonly count?: number;
  /** With count: the time of the last repeat (timeMs is the first's). */
  readonly lastMs?: number;
}

export interface BlockEventSink {
  record(event: BlockEvent): void;
}
