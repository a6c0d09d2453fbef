/**
 * Blocked and alerted queries counted per list on the DNS thread, for the Prometheus counter
 * poolsink_list_matches_total (admin/metrics.ts): a block event sink that counts, then passes the
 * event on. One counts object per list, made at its first match; a match after that allocates
 * nothing (the blocked path stays allocation-free).
 */
import type { BlockEvent, BlockEventSink } from './block-event.js';

export interface ListMatchCounts {
  blocked: number;
  alerted: number;
}

export interface ListMatchCounter extends BlockEventSink {
  /** Matches per list since start (lists removed at runtime keep their counts). */
  counts(): ReadonlyMap<string, Readonly<ListMatchCounts>>;
}

export function countListMatches(next: BlockEventSink): ListMatchCounter {
  const byList = new Map<string, ListMatchCounts>();
  return {
    record(event: BlockEvent): void {
      let counts = byList.get(event.list);
      if (counts === undefined) {
        counts = { blocked: 0, alerted: 0 };
        byList.set(event.list, counts);
      }
      counts[event.action]++;
      next.record(event);
    },
    counts: () => byList,
  };
}
