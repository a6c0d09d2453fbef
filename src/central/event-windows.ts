/**
 * The newest keys (time_ms, id) of the events under a domain, for fleet-queries.ts. A domain with
 * its subdomains is a range of the index (rname, time_ms, id), which is in time order only within
 * one name: the newest keys of the whole range need every match's key read and sorted. So they are
 * read by time windows, newest first and growing (the last hour before `topMs`, then 16 hours,
 * ...), each a range of the index read alone (index-only) in the partitions the window touches,
 * until the page is full. The windows tile the whole time axis, so the keys are exactly those a
 * single sorted read would give; the work is the matches of the windows read, not of all time.
 */
import type pg from 'pg';

const FIRST_WINDOW_MS = 3_600_000;
const GROWTH = 16;
/** After a window this long (170 days), the next one has no lower bound. */
const LAST_BOUNDED_WINDOW_MS = 4_096 * 3_600_000;

export interface EventKey {
  readonly timeMs: number;
  readonly id: number;
}

export interface WindowedKeysQuery {
  /** Conditions on central_events with $1.. placeholders into params. */
  readonly where: readonly string[];
  readonly params: readonly unknown[];
  /** Keys wanted at most. */
  readonly wanted: number;
  /** Where the first window ends (the cursor's time, `until`, or now); any time is correct, a near one is quick. */
  readonly topMs: number;
  /** No window starts before this (the filter's own `since`). */
  readonly sinceMs?: number;
}

/** Up to `wanted` keys matching `where`, newest first (time_ms DESC, id DESC). */
export async function newestKeysByWindow(client: pg.ClientBase, query: WindowedKeysQuery): Promise<EventKey[]> {
  const keys: EventKey[] = [];
  let upperMs: number | undefined;
  for (let spanMs = FIRST_WINDOW_MS; ; spanMs *= GROWTH) {
    const lowerMs = spanMs <= LAST_BOUNDED_WINDOW_MS ? query.topMs - spanMs : undefined;
    const params = [...query.params];
    const where = [...query.where];
    if (lowerMs !== undefined) {
      params.push(lowerMs);
      where.push(`time_ms >= $${params.length}`);
    }
    if (upperMs !== undefined) {
      params.push(upperMs);
      where.push(`time_ms < $${params.length}`);
    }
    params.push(query.wanted - keys.length);
    const { rows } = await client.query<{ time_ms: string; id: string }>(
      `SELECT time_ms, id FROM central_events WHERE ${where.join(' AND ')}
ORDER BY time_ms DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    for (const row of rows) keys.push({ timeMs: Number(row.time_ms), id: Number(row.id) });
    const reachedSince = query.sinceMs !== undefined && lowerMs !== undefined && lowerMs <= query.sinceMs;
    if (keys.length >= query.wanted || lowerMs === undefined || reachedSince) return keys;
    upperMs = lowerMs;
  }
}
