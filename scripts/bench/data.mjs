/**
 * Synthetic data for the bench: domain lists (one name per line, the `domains` format) and
 * dnsperf query files (`name A` per line). Seeded, so every run queries the same names.
 */
import { openSync, writeSync, closeSync } from 'node:fs';

/** The n-th blocklisted domain. Query files derive blocked names from the same function. */
export function listDomain(n) {
  return `pool-${n}.bench-mining.test`;
}

/** mulberry32: a small seeded PRNG, good enough to pick names. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes `count` lines produced by lineAt(i), in chunks, so a million lines stay cheap. */
function writeLines(path, count, lineAt) {
  const fd = openSync(path, 'w');
  try {
    const chunkLines = 50000;
    for (let start = 0; start < count; start += chunkLines) {
      const end = Math.min(count, start + chunkLines);
      const lines = [];
      for (let i = start; i < end; i += 1) lines.push(lineAt(i));
      writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
}

export function writeDomainList(path, count) {
  writeLines(path, count, listDomain);
}

/**
 * Blocked queries: names drawn from a list of `listSize` domains, half of them exact and half a
 * subdomain one or two labels below a listed name (so the suffix walk is exercised).
 */
export function writeBlockedQueries(path, { listSize, count, seed = 1 }) {
  const random = seededRandom(seed);
  writeLines(path, count, (i) => {
    const domain = listDomain(Math.floor(random() * listSize));
    const roll = random();
    if (roll < 0.5) return `${domain} A`;
    if (roll < 0.8) return `w${i}.${domain} A`;
    return `cdn.w${i}.${domain} A`;
  });
}

/** A small fixed set of names that are in no list: after one warm-up pass, all cache hits. */
export function writeCachedQueries(path, { count }) {
  writeLines(path, count, (i) => `c${i}.cached-bench.test A`);
}

/** Names that are all distinct (and distinct from any other run via `tag`): every one a miss. */
export function writeUniqueQueries(path, { count, tag }) {
  writeLines(path, count, (i) => `u${i}-${tag}.miss-bench.test A`);
}
