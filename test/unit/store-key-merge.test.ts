import { describe, expect, test } from 'vitest';
import { mergeNewest, type KeyRow } from '../../src/store/key-merge.js';

/** A deterministic pseudo-random sequence (xorshift32). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function newestFirst(a: KeyRow, b: KeyRow): number {
  return b.time_ms - a.time_ms || b.id - a.id;
}

/** Sources as sorted key arrays, and a fetch that counts its calls. */
function sourcesOf(lists: KeyRow[][]) {
  const sorted = lists.map((keys) => [...keys].sort(newestFirst));
  let calls = 0;
  const fetch = (source: number, after: KeyRow | undefined, limit: number): KeyRow[] => {
    calls++;
    const keys = sorted[source] ?? [];
    const from = after === undefined ? 0 : keys.findIndex((k) => newestFirst(after, k) < 0);
    return from < 0 ? [] : keys.slice(from, from + limit);
  };
  return { sources: sorted.map((_, i) => i), fetch, calls: () => calls, all: sorted.flat().sort(newestFirst) };
}

describe('mergeNewest', () => {
  test.each([
    ['even spread', 20, 50, 0],
    ['one busy source', 20, 50, 0.95],
    ['many sources, few keys each', 500, 3, 0],
    ['one source', 1, 300, 0],
  ])('%s: exactly the newest keys, in order, page after page', (_name, sourceCount, perSource, skew) => {
    const next = random(sourceCount * 7919 + perSource);
    let id = 0;
    const lists: KeyRow[][] = [];
    for (let s = 0; s < sourceCount; s++) {
      const keys: KeyRow[] = [];
      const count = skew > 0 && s === 0 ? Math.round(perSource * sourceCount * skew) : perSource;
      // Coarse times, so equal time_ms across sources exercises the id tiebreak.
      for (let i = 0; i < count; i++) keys.push({ id: ++id, time_ms: Math.floor(next() * 200) });
      lists.push(keys);
    }
    const { sources, fetch, all } = sourcesOf(lists);
    // Page through with a cursor as event-search does: `after` for the first read of each source.
    let cursor: KeyRow | undefined;
    const seen: KeyRow[] = [];
    for (;;) {
      const page = mergeNewest(sources, (source, after, limit) => fetch(source, after ?? cursor, limit), 37);
      seen.push(...page);
      const last = page[page.length - 1];
      if (page.length < 37 || last === undefined) break;
      cursor = last;
    }
    expect(seen).toEqual(all);
  });

  test('reads each source once for an even spread, and about one batch per page row for a busy one', () => {
    const lists: KeyRow[][] = [];
    let id = 0;
    for (let s = 0; s < 100; s++)
      lists.push(Array.from({ length: 10 }, (_, i) => ({ id: ++id, time_ms: i * 100 + s })));
    const even = sourcesOf(lists);
    expect(mergeNewest(even.sources, even.fetch, 101)).toEqual(even.all.slice(0, 101));
    expect(even.calls()).toBe(100);

    const busy = sourcesOf([
      Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, time_ms: 10_000 + i })),
      ...Array.from({ length: 99 }, (_, s) => [{ id: 2000 + s, time_ms: s }]),
    ]);
    expect(mergeNewest(busy.sources, busy.fetch, 101)).toEqual(busy.all.slice(0, 101));
    // 100 first reads, then doubling batches for the busy source (2, 4, ... up to 101 keys).
    expect(busy.calls()).toBeLessThanOrEqual(100 + 7);
  });

  test('no sources, empty sources, want 0', () => {
    const { fetch } = sourcesOf([[], []]);
    expect(mergeNewest([], fetch, 10)).toEqual([]);
    expect(mergeNewest([0, 1], fetch, 10)).toEqual([]);
    expect(mergeNewest([0, 1], fetch, 0)).toEqual([]);
  });
});
