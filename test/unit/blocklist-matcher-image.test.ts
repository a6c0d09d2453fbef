import { describe, expect, test } from 'vitest';
import { createMatcher, type ListInput } from '../../src/blocklist/matcher.js';
import { createMatcherImage, matcherFromImage, matcherImageBytes } from '../../src/blocklist/matcher-image.js';

const label63 = 'a'.repeat(63);
const longName = `${label63}.${label63}.${label63}.${'b'.repeat(52)}.pool.com`;

const lists: ListInput[] = [
  {
    name: 'pools',
    domains: ['pool.com', 'xmr.example.net', 'deep.a.b.c.org', 'xn--bcher-kva.de', 'good.pool.com', 'pool.com'],
    wildcards: ['wild.io'],
  },
  {
    name: 'watch',
    mode: 'alert',
    domains: ['pool.com', 'alert-only.com', 'both.com', 'x.xmr.example.net', 'lat\u00e9.example'],
    wildcards: ['both.com', 'pool.com'],
  },
];
const original = createMatcher(lists, ['good.pool.com', 'ok.wild.io', 'Safe.Alert-Only.com.']);
const image = createMatcherImage(original);
if (image === undefined) throw new Error('no image');
const fromImage = matcherFromImage(image);

describe('matcher image', () => {
  test.each([
    'pool.com',
    'x.pool.com',
    'a.b.c.x.pool.com',
    longName,
    'notpool.com',
    'pool.co',
    'pool.com.evil.net',
    'xpool.com',
    'com',
    '',
    'localhost',
    'wild.io',
    'a.wild.io',
    'notwild.io',
    'xmr.example.net',
    'x.xmr.example.net',
    'example.net',
    'deep.a.b.c.org',
    'b.c.org',
    'www.xn--bcher-kva.de',
    'alert-only.com',
    'safe.alert-only.com',
    'both.com',
    'x.both.com',
    'good.pool.com',
    'x.good.pool.com',
    'ok.wild.io',
    'lat\u00e9.example',
    'x.lat\u00e9.example',
    'lat\u0165.example',
    'pool.com\u0000',
    '.pool.com',
    'pool..com',
  ])('%j answers as the matcher it was made from', (qname) => {
    expect(fromImage.match(qname)).toEqual(original.match(qname));
  });

  test('sizes, lists and allowlist carry over', () => {
    expect(fromImage.size).toBe(original.size);
    expect(fromImage.lists).toEqual(original.lists);
    expect(fromImage.allowlistSize).toBe(original.allowlistSize);
    expect(fromImage.withAllowlist([]).match('good.pool.com')).toEqual(
      original.withAllowlist([]).match('good.pool.com'),
    );
  });

  test('10,000 synthetic names and their neighbours agree', () => {
    const domains = Array.from({ length: 10_000 }, (_, i) => `pool-${i}.x${i % 97}.test`);
    const big = createMatcher([{ name: 'big', domains, wildcards: domains.slice(0, 100) }], []);
    const bigImage = createMatcherImage(big);
    if (bigImage === undefined) throw new Error('no image');
    const copy = matcherFromImage(bigImage);
    for (let i = 0; i < 10_000; i += 7) {
      for (const qname of [
        `pool-${i}.x${i % 97}.test`,
        `a.pool-${i}.x${i % 97}.test`,
        `pool-${i}.x${(i + 1) % 97}.test`,
      ]) {
        expect(copy.match(qname)).toEqual(big.match(qname));
      }
    }
    // Names, offsets, slots and a table at most four slots per entry.
    expect(matcherImageBytes(bigImage)).toBeLessThan(10_000 * (20 + 4 + 4 + 4 * 4) + 4096);
  });
});
