/**
 * Query outcome counts go to the database every few seconds (for /stats?since= and the dashboard's
 * outcome series), as differences since the previous snapshot, and once more on stop so the last
 * counts are final.
 */
import { RESOLVER_COUNTER_KEYS, type ResolverCounters } from '../dns/resolver-counters.js';
import type { OutcomeCounts } from './types.js';

/** How often query outcome counts go to the database. */
const OUTCOME_INTERVAL_MS = 5_000;

/** Per-outcome differences since the previous snapshot; updates the snapshot. */
export function outcomeDeltas(now: Readonly<ResolverCounters>, previous: ResolverCounters): OutcomeCounts {
  const deltas: Record<string, number> = {};
  for (const key of RESOLVER_COUNTER_KEYS) {
    if (now[key] !== previous[key]) deltas[key] = now[key] - previous[key];
    previous[key] = now[key];
  }
  return deltas;
}

/** Starts shipping (`counters` is read at each tick: a view's counters may be a fresh object); the returned stop writes the last differences. */
export function shipOutcomes(
  counters: () => Readonly<ResolverCounters>,
  addOutcomes: (deltas: OutcomeCounts) => void,
): () => void {
  const snapshot = { ...counters() };
  const ship = (): void => addOutcomes(outcomeDeltas(counters(), snapshot));
  const timer = setInterval(ship, OUTCOME_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    ship();
  };
}
