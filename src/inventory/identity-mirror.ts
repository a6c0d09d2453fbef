/**
 * The DNS thread's record of the identity snapshot it has sent to the writer thread, so a writer
 * thread that is restarted (after a crash) starts with the whole snapshot rather than an empty one.
 */
import type { HostIdentity } from './host-identity.js';
import type { IdentityPair, IdentityUpdate } from './identity-snapshot.js';

export type { IdentityUpdate } from './identity-snapshot.js';

export interface IdentityMirror {
  apply(update: IdentityUpdate): void;
  /** One update that recreates the snapshot; undefined while nothing was ever sent. */
  full(): IdentityUpdate | undefined;
}

export function createIdentityMirror(): IdentityMirror {
  let inventory: readonly IdentityPair[] | undefined;
  const reverse = new Map<string, HostIdentity>();
  let reportMisses: boolean | undefined;
  return {
    apply(update) {
      if (update.inventory !== undefined) inventory = update.inventory;
      for (const ip of update.reverseDelete ?? []) reverse.delete(ip);
      for (const [ip, identity] of update.reverseSet ?? []) reverse.set(ip, identity);
      if (update.reportMisses !== undefined) reportMisses = update.reportMisses;
    },
    full() {
      if (inventory === undefined && reverse.size === 0 && reportMisses === undefined) return undefined;
      return {
        inventory: inventory ?? [],
        reverseSet: [...reverse],
        ...(reportMisses !== undefined ? { reportMisses } : {}),
      };
    },
  };
}
