/**
 * Reverse DNS for clients no inventory names (`hosts.reverseDns`): a PTR query through the
 * configured upstreams, asked for by the writer thread (addresses it recorded events for without
 * an identity), never by the DNS query path. Results are cached, positive and negative, for their
 * TTL within [minTtlSec, maxTtlSec]; the cache holds at most maxEntries addresses (the oldest go
 * first) and at most maxInFlight lookups run at once (more are skipped: the writer asks again
 * later). Every change is reported through onChange, for the writer's snapshot.
 */
import type { Logger } from 'pino';
import type { UpstreamPool } from '../upstream/pool.js';
import type { HostIdentity } from './host-identity.js';
import type { IdentityPair } from './identity-snapshot.js';
import { cleanText } from './inventory-entry.js';
import { buildPtrQuery, ptrName, readPtrAnswer } from './ptr-wire.js';

export interface ReverseDnsOptions {
  readonly upstream: Pick<UpstreamPool, 'query'>;
  readonly log: Logger;
  readonly onChange: (change: { set: readonly IdentityPair[]; delete: readonly string[] }) => void;
  readonly clock?: () => number;
  /** Default 10,000. */
  readonly maxEntries?: number;
  /** Default 16. */
  readonly maxInFlight?: number;
  /** Default 60. */
  readonly minTtlSec?: number;
  /** Default 86,400. */
  readonly maxTtlSec?: number;
  /** Cached time of a failed lookup or of a negative answer without an SOA. Default 300. */
  readonly negativeTtlSec?: number;
}

export interface ReverseDnsStats {
  readonly entries: number;
  readonly inFlight: number;
  readonly lookups: number;
  readonly names: number;
  readonly failures: number;
  /** Requests skipped because maxInFlight lookups were running. */
  readonly skipped: number;
}

export interface ReverseDns {
  /** Looks up the addresses not cached (or expired) and not in flight. */
  request(clientIps: readonly string[]): void;
  lookup(clientIp: string): HostIdentity | undefined;
  readonly stats: ReverseDnsStats;
}

interface CacheEntry {
  readonly identity: HostIdentity | undefined;
  readonly expiresMs: number;
}

export function createReverseDns(options: ReverseDnsOptions): ReverseDns {
  const { upstream, log, onChange } = options;
  const clock = options.clock ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxInFlight = options.maxInFlight ?? 16;
  const minTtlSec = options.minTtlSec ?? 60;
  const maxTtlSec = options.maxTtlSec ?? 86_400;
  const negativeTtlSec = options.negativeTtlSec ?? 300;
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Set<string>();
  let lookups = 0;
  let names = 0;
  let failures = 0;
  let skipped = 0;

  function ttlMs(ttlSec: number): number {
    const ttl = ttlSec < 0 ? negativeTtlSec : ttlSec;
    return Math.min(maxTtlSec, Math.max(minTtlSec, ttl)) * 1000;
  }

  function store(ip: string, identity: HostIdentity | undefined, ttl: number): void {
    const had = cache.get(ip);
    cache.delete(ip);
    const evicted: string[] = [];
    while (cache.size >= maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      if (cache.get(oldest)?.identity !== undefined) evicted.push(oldest);
      cache.delete(oldest);
    }
    cache.set(ip, { identity, expiresMs: clock() + ttl });
    const set: IdentityPair[] = identity === undefined ? [] : [[ip, identity]];
    if (identity === undefined && had?.identity !== undefined) evicted.push(ip);
    if (set.length > 0 || evicted.length > 0) onChange({ set, delete: evicted });
  }

  function lookUp(ip: string): void {
    const name = ptrName(ip);
    if (name === undefined) return;
    const { wire, questionEnd } = buildPtrQuery(name);
    inFlight.add(ip);
    lookups += 1;
    upstream.query(wire, questionEnd, (result) => {
      inFlight.delete(ip);
      if (result.kind === 'failed') {
        failures += 1;
        log.debug({ clientIp: ip, reason: result.reason }, 'reverse DNS lookup failed');
        store(ip, cache.get(ip)?.identity, negativeTtlSec * 1000);
        return;
      }
      const answer = readPtrAnswer(result.response);
      if (answer.kind === 'name') {
        const ptr = cleanText(answer.name);
        names += 1;
        store(ip, ptr === undefined ? undefined : { source: 'reverse-dns', name: ptr }, ttlMs(answer.ttlSec));
      } else if (answer.kind === 'none') store(ip, undefined, ttlMs(answer.ttlSec));
      else {
        failures += 1;
        store(ip, cache.get(ip)?.identity, negativeTtlSec * 1000);
      }
    });
  }

  return {
    request(clientIps) {
      const now = clock();
      for (const ip of clientIps) {
        if (inFlight.has(ip)) continue;
        const cached = cache.get(ip);
        if (cached !== undefined && cached.expiresMs > now) continue;
        if (inFlight.size >= maxInFlight) {
          skipped += 1;
          continue;
        }
        lookUp(ip);
      }
    },
    lookup(clientIp) {
      return cache.get(clientIp)?.identity;
    },
    get stats(): ReverseDnsStats {
      return { entries: cache.size, inFlight: inFlight.size, lookups, names, failures, skipped };
    },
  };
}
