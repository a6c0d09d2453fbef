/** Types for packets.mjs (the generator is plain JS so that scripts run without a build). */
export type Mutation =
  | 'valid'
  | 'random'
  | 'bit-flip'
  | 'truncate'
  | 'count-lie'
  | 'pointer-loop'
  | 'long-label'
  | 'long-name'
  | 'qtype-class'
  | 'opt-garbage'
  | 'response'
  | 'opcode'
  | 'trailing'
  | 'splice'
  | 'extra-records';

export declare const MUTATIONS: Readonly<Record<Mutation, number>>;

export declare function fuzzNames(count?: number): string[];

export interface PacketFuzzer {
  next(): { kind: Mutation; bytes: Buffer };
}

export declare function createPacketFuzzer(options?: { seed?: number; names?: readonly string[] }): PacketFuzzer;
