/**
 * The writer thread's copy of "who is at which address": the inventory files' merged map and the
 * reverse-DNS cache, posted to it by the DNS thread whenever either changes (ToWriter 'identities').
 * The writer resolves each event's identity here when it takes the event off its queue, so events
 * recorded before a change keep the identity of their time, and the DNS thread does nothing per
 * query. Inventory entries win over PTR names.
 *
 * Other writer-thread code (incidents) asks `identityFor(clientIp)`.
 */
import type { HostIdentity } from './host-identity.js';

export type IdentityPair = readonly [clientIp: string, identity: HostIdentity];

/** A change to the snapshot; absent parts stay as they are. */
export interface IdentityUpdate {
  /** The whole inventory layer, replacing the previous one. */
  readonly inventory?: readonly IdentityPair[];
  /** Reverse-DNS names added or refreshed. */
  readonly reverseSet?: readonly IdentityPair[];
  /** Reverse-DNS names evicted or expired. */
  readonly reverseDelete?: readonly string[];
  /** Whether the writer reports the addresses it had no identity for (reverse DNS on). */
  readonly reportMisses?: boolean;
}

export interface IdentitySnapshot {
  apply(update: IdentityUpdate): void;
  identityFor(clientIp: string): HostIdentity | undefined;
  /** Notes an address seen without an identity; reported at most once per `reaskMs`. */
  noteMiss(clientIp: string, nowMs: number): void;
  /** The addresses noted since the last call (empty unless misses are reported). */
  takeMisses(): string[];
}

export interface IdentitySnapshotOptions {
  /** How long before an address still without identity is reported again. Default 60 s. */
  readonly reaskMs?: number;
  /** Addresses remembered as asked at most. Default 100,000. */
  readonly maxAsked?: number;
}

export function createIdentitySnapshot(options: IdentitySnapshotOptions = {}): IdentitySnapshot {
  const reaskMs = options.reaskMs ?? 60_000;
  const maxAsked = options.maxAsked ?? 100_000;
  let inventory = new Map<string, HostIdentity>();
  const reverse = new Map<string, HostIdentity>();
  let reportMisses = false;
  let asked = new Map<string, number>();
  let misses: string[] = [];

  return {
    apply(update) {
      if (update.inventory !== undefined) inventory = new Map(update.inventory);
      for (const ip of update.reverseDelete ?? []) reverse.delete(ip);
      for (const [ip, identity] of update.reverseSet ?? []) reverse.set(ip, identity);
      if (update.reportMisses !== undefined) reportMisses = update.reportMisses;
    },
    identityFor(clientIp) {
      return inventory.get(clientIp) ?? reverse.get(clientIp);
    },
    noteMiss(clientIp, nowMs) {
      if (!reportMisses) return;
      const askedAt = asked.get(clientIp);
      if (askedAt !== undefined && nowMs - askedAt < reaskMs) return;
      if (asked.size >= maxAsked) asked = new Map();
      asked.set(clientIp, nowMs);
      misses.push(clientIp);
    },
    takeMisses() {
      if (misses.length === 0) return misses;
      const taken = misses;
      misses = [];
      return taken;
    },
  };
}
