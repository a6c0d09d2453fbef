/**
 * The pool IP feed: what poolsink knows of mining pools' addresses, for egress rules (GET
 * /api/v1/pool-ips, `poolsink pool-ips`): every `ip` list's entries and the learned addresses, each
 * once (the first source to have it reports it), IPv4 before IPv6.
 */
import type { IpListInput } from '../blocklist/ip-blocklist.js';
import type { LearnedAddress } from './learned-set.js';
import { LEARNED_LIST_NAME } from './learner.js';

export interface PoolIpEntry {
  /** An address or CIDR in canonical text. */
  readonly address: string;
  readonly family: 4 | 6;
  /** The ip list that has it, or `learned-pool-ips`. */
  readonly list: string;
  readonly mode: 'block' | 'alert';
  readonly source: 'list' | 'learned';
  /** Learned addresses: the name seen resolving to it last, all names seen, and when. */
  readonly name?: string;
  readonly names?: readonly string[];
  readonly firstSeenMs?: number;
  readonly lastSeenMs?: number;
}

export interface PoolIpFeed {
  entries(): PoolIpEntry[];
}

export interface PoolIpFeedSources {
  readonly ipLists: () => readonly IpListInput[];
  /** Absent when learning is off. */
  readonly learned?: { addresses(): readonly LearnedAddress[]; readonly mode: 'block' | 'alert' };
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

export function createPoolIpFeed(sources: PoolIpFeedSources): PoolIpFeed {
  return {
    entries() {
      const seen = new Set<string>();
      const out: PoolIpEntry[] = [];
      for (const list of sources.ipLists()) {
        for (const address of list.cidrs) {
          if (seen.has(address)) continue;
          seen.add(address);
          out.push({ address, family: familyOf(address), list: list.name, mode: list.mode, source: 'list' });
        }
      }
      const learned = sources.learned;
      if (learned !== undefined) {
        for (const entry of learned.addresses()) {
          if (seen.has(entry.address)) continue;
          seen.add(entry.address);
          out.push({
            address: entry.address,
            family: familyOf(entry.address),
            list: LEARNED_LIST_NAME,
            mode: learned.mode,
            source: 'learned',
            name: entry.name,
            names: entry.names,
            firstSeenMs: entry.firstSeenMs,
            lastSeenMs: entry.lastSeenMs,
          });
        }
      }
      return out.sort((a, b) => a.family - b.family);
    },
  };
}
