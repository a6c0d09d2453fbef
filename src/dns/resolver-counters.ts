/** The resolver's query outcome counters: one set per transport protocol, summed when read. */

/** Query outcomes, counted; read by logs and by metrics. */
export interface ResolverCounters {
  queries: number;
  blocked: number;
  alerted: number;
  cached: number;
  forwarded: number;
  stale: number;
  refused: number;
  servfail: number;
  formerr: number;
  notimp: number;
  dropped: number;
  truncated: number;
  cloaked: number;
  coalesced: number;
}

export function zeroCounters(): ResolverCounters {
  return {
    queries: 0,
    blocked: 0,
    alerted: 0,
    cached: 0,
    forwarded: 0,
    stale: 0,
    refused: 0,
    servfail: 0,
    formerr: 0,
    notimp: 0,
    dropped: 0,
    truncated: 0,
    cloaked: 0,
    coalesced: 0,
  };
}

export const RESOLVER_COUNTER_KEYS: readonly (keyof ResolverCounters)[] = Object.freeze(
  Object.keys(zeroCounters()).filter(isCounterKey),
);

function isCounterKey(key: string): key is keyof ResolverCounters {
  return key in zeroCounters();
}

export function sumCounters(left: Readonly<ResolverCounters>, right: Readonly<ResolverCounters>): ResolverCounters {
  const total = zeroCounters();
  for (const key of RESOLVER_COUNTER_KEYS) total[key] = left[key] + right[key];
  return total;
}
