/**
 * How much the default configuration protects, measured on held-out sets that are not copies of
 * the list entries: test/fixtures/pool-hostnames.txt (full pool host names from miner
 * configuration examples) must be blocked at ≥ 98 %, test/fixtures/not-pools.txt (exchanges,
 * wallets, explorers, news, clouds, near misses such as pool.ntp.org) never. The lists are
 * poolsink.yaml's, loaded through the real config loader, parser and matcher. The rate is
 * asserted on the file lists alone (what protects offline, before any feed is fetched) and on
 * every list together; the names missed are printed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import type { DomainMatcher } from '../../src/blocklist/matcher.js';
import { normalizeDomain } from '../../src/net/domain-name.js';
import { loadDefaultLists, type DefaultLists } from '../helpers/default-lists.js';

const MIN_BLOCK_RATE = 0.98;

function fixture(name: string): string[] {
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

const POOLS = fixture('pool-hostnames.txt');
const NOT_POOLS = fixture('not-pools.txt');

let lists: DefaultLists;

beforeAll(async () => {
  lists = await loadDefaultLists();
});

function blocked(matcher: DomainMatcher, names: readonly string[]): { hit: string[]; missed: string[] } {
  const hit: string[] = [];
  const missed: string[] = [];
  for (const name of names) {
    const verdict = matcher.match(name);
    if (verdict.kind === 'block' && verdict.mode === 'block') hit.push(name);
    else missed.push(name);
  }
  return { hit, missed };
}

test('the fixtures are distinct, valid names, and no name is in both', () => {
  for (const names of [POOLS, NOT_POOLS]) {
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(normalizeDomain(name)).toBe(name);
  }
  expect(POOLS.length).toBeGreaterThanOrEqual(150);
  expect(NOT_POOLS.length).toBeGreaterThanOrEqual(90);
  expect(POOLS.filter((name) => NOT_POOLS.includes(name))).toEqual([]);
});

describe.each([
  { lists: 'its file lists (offline, before any feed is fetched)', fileOnly: true },
  { lists: 'every list it enables', fileOnly: false },
])('the default configuration, $lists', ({ fileOnly }) => {
  function matcher(): DomainMatcher {
    return lists.matcher((list) => !fileOnly || lists.files.includes(list.name));
  }

  test(`blocks at least ${MIN_BLOCK_RATE * 100} % of the held-out pool host names`, () => {
    const { hit, missed } = blocked(matcher(), POOLS);
    const rate = hit.length / POOLS.length;
    console.log(
      `held-out pool names blocked (${fileOnly ? 'file lists' : 'all lists'}): ${hit.length}/${POOLS.length} ` +
        `= ${(rate * 100).toFixed(1)} %${missed.length > 0 ? `; missed: ${missed.join(', ')}` : ''}`,
    );
    expect(rate).toBeGreaterThanOrEqual(MIN_BLOCK_RATE);
  });

  test('blocks none of the names that are not pools', () => {
    expect(blocked(matcher(), NOT_POOLS).hit).toEqual([]);
  });
});

test('pool.ntp.org and its servers stay reachable (a "pool" that is not mining)', () => {
  const all = lists.matcher();
  for (const name of ['pool.ntp.org', '0.pool.ntp.org', 'europe.pool.ntp.org', 'ntp.org'])
    expect(all.match(name)).toEqual({ kind: 'allow' });
});
