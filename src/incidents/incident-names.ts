/**
 * One batch's names of one incident, written inside the batch's transaction: a new name gets its
 * row while the incident holds fewer than maxNames, a name it has is bumped, and every other name
 * is summed into one OTHER_NAMES row. The sum is made here and written once per batch: a flood of
 * random names past the cap was three statements a name (a failed UPDATE, a no-op INSERT, the
 * OTHER_NAMES UPDATE), about a quarter of the writer thread's time per unique row. An incident past
 * its cap with many names in the batch has its kept names read once instead of one failed UPDATE
 * per name, as rollup-writes.ts does for host_domains.
 */
import type { IncidentWrites } from './incident-store.js';
import { OTHER_NAMES } from '../store/rollup-writes.js';

export interface BatchName {
  list: string;
  count: number;
  firstMs: number;
  lastMs: number;
}

/** Names of one incident in a batch above which a full incident has its kept names read at once. */
const KEPT_SET_MIN_NAMES = 64;

/**
 * Writes `names` for incident `incidentId`, which holds `held` distinct names. Returns the names
 * added, in order (at most maxNames - held of them).
 */
export function writeIncidentNames(
  s: IncidentWrites,
  incidentId: number,
  held: number,
  names: ReadonlyMap<string, BatchName>,
  maxNames: number,
): string[] {
  const added: string[] = [];
  let kept: Set<string> | undefined;
  let other: BatchName | undefined;
  let left = names.size;
  for (const [qname, name] of names) {
    left -= 1;
    const { list, count, firstMs, lastMs } = name;
    if (held + added.length >= maxNames) {
      // Full: a name it has is counted as before, any other under OTHER_NAMES.
      if (kept === undefined && left >= KEPT_SET_MIN_NAMES) kept = new Set(s.names.all(incidentId));
      if (
        (kept === undefined || kept.has(qname)) &&
        s.bumpName.run(count, list, firstMs, lastMs, incidentId, qname).changes > 0
      )
        continue;
      if (other === undefined) other = { list, count, firstMs, lastMs };
      else {
        other.list = list;
        other.count += count;
        if (firstMs < other.firstMs) other.firstMs = firstMs;
        if (lastMs > other.lastMs) other.lastMs = lastMs;
      }
      continue;
    }
    if (s.newName.run(incidentId, qname, list, count, firstMs, lastMs).changes === 0) {
      s.bumpName.run(count, list, firstMs, lastMs, incidentId, qname);
      continue;
    }
    added.push(qname);
  }
  if (other !== undefined) {
    const { list, count, firstMs, lastMs } = other;
    if (s.newName.run(incidentId, OTHER_NAMES, list, count, firstMs, lastMs).changes === 0)
      s.bumpName.run(count, list, firstMs, lastMs, incidentId, OTHER_NAMES);
  }
  return added;
}
