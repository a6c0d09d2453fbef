/**
 * The learned pool addresses as data: which names resolved to which address, from which list, first
 * and last seen. Pure (no timers, sockets or database): learner.ts feeds it one round at a time and
 * persists what it reports changed.
 *
 * An address is in the effective set unless it is shared: names under more than
 * `maxDomainsPerAddress` different domains resolve to it (a shared host or a CDN edge that the
 * built-in ranges do not know). Addresses an allowlisted name resolves to are forgotten (forget()). A domain
 * here is a name's last two labels: rough (it puts every `*.co.uk` together), but a pool's own
 * endpoints (`xmr.pool.example`, `eu.pool.example`) count once, which is what matters.
 */
import type { PoolIpRow } from '../store/pool-ip-store.js';

export interface LearnedAddress {
  readonly address: string;
  /** The name seen last resolving to it (and its list). */
  readonly name: string;
  readonly list: string;
  /** Every name seen resolving to it. */
  readonly names: readonly string[];
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

interface Sighting {
  list: string;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface LearnedSet {
  /** Records that `name` (of `list`) resolved to `address` at `nowMs`; returns the row to save. */
  observe(address: string, name: string, list: string, nowMs: number): PoolIpRow;
  /** Rows read back from the database. */
  load(rows: readonly PoolIpRow[]): void;
  /** Forgets sightings last seen before `beforeMs`; returns how many. */
  expire(beforeMs: number): number;
  /** Forgets every sighting of these addresses (an allowlisted name resolves to them); returns the pairs forgotten. */
  forget(addresses: ReadonlySet<string>): { address: string; name: string }[];
  /** The effective set, sorted by address text. */
  addresses(): LearnedAddress[];
  /** Addresses seen but left out as shared, at the last addresses(). */
  readonly shared: number;
  /** Distinct addresses seen (in or out of the effective set). */
  readonly seen: number;
}

function domainOf(name: string): string {
  const last = name.lastIndexOf('.');
  if (last <= 0) return name;
  const before = name.lastIndexOf('.', last - 1);
  return before < 0 ? name : name.slice(before + 1);
}

export function createLearnedSet(maxDomainsPerAddress: number): LearnedSet {
  const sightings = new Map<string, Map<string, Sighting>>();
  let shared = 0;

  function put(address: string, name: string, sighting: Sighting): void {
    let names = sightings.get(address);
    if (names === undefined) {
      names = new Map();
      sightings.set(address, names);
    }
    const known = names.get(name);
    if (known === undefined) names.set(name, sighting);
    else {
      known.list = sighting.list;
      known.firstSeenMs = Math.min(known.firstSeenMs, sighting.firstSeenMs);
      known.lastSeenMs = Math.max(known.lastSeenMs, sighting.lastSeenMs);
    }
  }

  return {
    observe(address, name, list, nowMs) {
      put(address, name, { list, firstSeenMs: nowMs, lastSeenMs: nowMs });
      const sighting = sightings.get(address)?.get(name);
      return { address, name, list, firstSeenMs: sighting?.firstSeenMs ?? nowMs, lastSeenMs: nowMs };
    },
    load(rows) {
      for (const row of rows) put(row.address, row.name, { ...row });
    },
    expire(beforeMs) {
      let count = 0;
      for (const [address, names] of sightings) {
        for (const [name, sighting] of names) {
          if (sighting.lastSeenMs < beforeMs) {
            names.delete(name);
            count++;
          }
        }
        if (names.size === 0) sightings.delete(address);
      }
      return count;
    },
    forget(addresses) {
      const pairs: { address: string; name: string }[] = [];
      for (const address of addresses) {
        const names = sightings.get(address);
        if (names === undefined) continue;
        for (const name of names.keys()) pairs.push({ address, name });
        sightings.delete(address);
      }
      return pairs;
    },
    addresses() {
      const out: LearnedAddress[] = [];
      let sharedCount = 0;
      for (const [address, names] of sightings) {
        const domains = new Set<string>();
        for (const name of names.keys()) domains.add(domainOf(name));
        if (domains.size > maxDomainsPerAddress) {
          sharedCount++;
          continue;
        }
        let latestName = '';
        let latest: Sighting | undefined;
        let firstSeenMs = Number.POSITIVE_INFINITY;
        for (const [name, sighting] of names) {
          firstSeenMs = Math.min(firstSeenMs, sighting.firstSeenMs);
          if (latest === undefined || sighting.lastSeenMs > latest.lastSeenMs) {
            latest = sighting;
            latestName = name;
          }
        }
        if (latest === undefined) continue;
        out.push({
          address,
          name: latestName,
          list: latest.list,
          names: [...names.keys()].sort(),
          firstSeenMs,
          lastSeenMs: latest.lastSeenMs,
        });
      }
      shared = sharedCount;
      return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    },
    get shared() {
      return shared;
    },
    get seen() {
      return sightings.size;
    },
  };
}
