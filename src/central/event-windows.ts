/**
 * The newest events of a filter by time windows, for fleet-queries.ts. central_events has one
 * partition per day and a default one; a read without a time bound is planned over every partition
 * (planning grows with retention: ~10 ms at 93 days) and, the default partition breaking the order
 * of the day ranges, opens each one. So a page is read by time windows, newest first and growing
 * (the last hour before `topMs`, then 16 hours, ...), each bounded so PostgreSQL prunes the
 * partitions outside it (the default one too once the window is covered by day partitions), until
 * the page is full. The windows tile the whole time axis, so the rows are exactly those a single
 * sorted read would give; the work is that of the windows read, not of all time.
 *
 * A domain with its subdomains is a range of the index (rname, time_ms, id), which is in time order
 * only within one name: its newest keys need every match of a window read and sorted, which the
 * index alone serves (newestKeysByWindow), then only the page's rows are read.
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

export interface WindowedQuery {
  /** Conditions on central_events with $1.. placeholders into params. */
  readonly where: readonly string[];
  readonly params: readonly unknown[];
  /** Rows wanted at most. */
  readonly wanted: number;
  /**
   * Where the first window ends (the cursor's time, `until`, or now); any time is correct, a near
   * one is quick. Rows after it are read in the first window unless `where` excludes them.
   */
  readonly topMs: number;
  /** No window starts before this (the filter's own `since`). */
  readonly sinceMs?: number;
  /**
   * One read of all time instead: for a filter whose own index is in time order and selective (a
   * client's) next to one whose index the planner would pick in a bounded window (a domain's).
   */
  readonly allAtOnce?: boolean;
}

/** Up to `wanted` rows (`columns` of central_events) matching `where`, newest first (time_ms DESC, id DESC). */
export async function newestRowsByWindow<R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  query: WindowedQuery & { readonly columns: string },
): Promise<R[]> {
  const rows: R[] = [];
  let upperMs: number | undefined;
  for (let spanMs = query.allAtOnce === true ? Number.POSITIVE_INFINITY : FIRST_WINDOW_MS; ; spanMs *= GROWTH) {
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
    params.push(query.wanted - rows.length);
    const window = await client.query<R>(
      `SELECT ${query.columns} FROM central_events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
ORDER BY time_ms DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    rows.push(...window.rows);
    const reachedSince = query.sinceMs !== undefined && lowerMs !== undefined && lowerMs <= query.sinceMs;
    if (rows.length >= query.wanted || lowerMs === undefined || reachedSince) return rows;
    upperMs = lowerMs;
  }
}

/** Up to `wanted` keys matching `where`, newest first (time_ms DESC, id DESC), from the indexes alone. */
export async function newestKeysByWindow(client: pg.ClientBase, query: WindowedQuery): Promise<EventKey[]> {
  const rows = await newestRowsByWindow<{ time_ms: string; id: string }>(client, { ...query, columns: 'time_ms, id' });
  return rows.map((row) => ({ timeMs: Number(row.time_ms), id: Number(row.id) }));
}
