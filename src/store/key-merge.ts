/**
 * The newest `want` (time, id) keys over several sources that each yield their keys newest first
 * (one index scan per client): a heap of the sources' heads, each source read in small batches
 * and read again after its last key only when the merge reaches it. The cost is one seek per
 * source plus about one per batch the page actually consumes, however the events are spread.
 */

export interface KeyRow {
  id: number;
  time_ms: number;
}

/** The keys of `source` older than `after` (all when undefined), newest first, at most `limit`. */
export type KeyFetch<S> = (source: S, after: KeyRow | undefined, limit: number) => KeyRow[];

interface Head<S> {
  readonly source: S;
  keys: KeyRow[];
  next: number;
  /** The last batch was full: there may be more keys after it. */
  more: boolean;
  batch: number;
}

function newer(a: KeyRow, b: KeyRow): boolean {
  return a.time_ms > b.time_ms || (a.time_ms === b.time_ms && a.id > b.id);
}

function key<S>(head: Head<S>): KeyRow {
  const row = head.keys[head.next];
  if (row === undefined) throw new Error('empty merge head');
  return row;
}

/** A max-heap of heads by their current key. */
class HeadHeap<S> {
  private readonly items: Head<S>[] = [];

  get size(): number {
    return this.items.length;
  }

  push(head: Head<S>): void {
    const items = this.items;
    items.push(head);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const up = items[parent];
      if (up === undefined || !newer(key(head), key(up))) break;
      items[i] = up;
      i = parent;
    }
    items[i] = head;
  }

  pop(): Head<S> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const leftHead = items[left];
      const rightHead = items[right];
      if (leftHead === undefined) break;
      const child = rightHead !== undefined && newer(key(rightHead), key(leftHead)) ? right : left;
      const childHead = child === right && rightHead !== undefined ? rightHead : leftHead;
      if (!newer(key(childHead), key(last))) break;
      items[i] = childHead;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/** The newest `want` keys over `sources`, newest first. */
export function mergeNewest<S>(sources: readonly S[], fetch: KeyFetch<S>, want: number): KeyRow[] {
  const out: KeyRow[] = [];
  if (want <= 0 || sources.length === 0) return out;
  // Enough per source that an even spread needs no second read, at least 2, at most the page.
  const firstBatch = Math.min(want, Math.max(2, Math.ceil((2 * want) / sources.length)));
  const heap = new HeadHeap<S>();
  for (const source of sources) {
    const keys = fetch(source, undefined, firstBatch);
    if (keys.length > 0) heap.push({ source, keys, next: 0, more: keys.length === firstBatch, batch: firstBatch });
  }
  while (out.length < want) {
    const head = heap.pop();
    if (head === undefined) break;
    const row = key(head);
    out.push(row);
    head.next++;
    if (head.next === head.keys.length) {
      if (!head.more) continue;
      // This source is busier than its share: read it in growing batches.
      head.batch = Math.min(want, head.batch * 2);
      head.keys = fetch(head.source, row, head.batch);
      head.next = 0;
      head.more = head.keys.length === head.batch;
      if (head.keys.length === 0) continue;
    }
    heap.push(head);
  }
  return out;
}
