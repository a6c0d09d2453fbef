import type { Protocol } from './block-event.js';

/**
 * Where answers go: one per UDP socket, one per TCP connection. For every query handed to the
 * resolver it calls exactly one of `send` or `drop`, now or when the upstream answers.
 */
export interface Transport {
  readonly protocol: Protocol;
  send(response: Buffer, address: string, port: number): void;
  drop(): void;
}
