import { describe, expect, test } from 'vitest';
import { createAddressPolicy } from '../../src/pool-ips/address-policy.js';
import { createLearnedSet } from '../../src/pool-ips/learned-set.js';
import { buildQuestionQuery } from '../../src/wire/question-query.js';

describe('address policy', () => {
  const policy = createAddressPolicy(['192.0.2.128/25']);
  test.each<[string, string | undefined]>([
    ['198.51.100.10', undefined],
    ['203.0.113.1', undefined],
    ['2001:db8::10', undefined],
    ['10.1.2.3', 'not a public address'],
    ['172.31.255.255', 'not a public address'],
    ['172.32.0.1', undefined],
    ['192.168.0.1', 'not a public address'],
    ['100.64.0.1', 'not a public address'],
    ['100.128.0.1', undefined],
    ['127.0.0.1', 'not a public address'],
    ['169.254.169.254', 'not a public address'],
    ['0.0.0.0', 'not a public address'],
    ['224.0.0.251', 'not a public address'],
    ['255.255.255.255', 'not a public address'],
    ['::', 'not a public address'],
    ['::1', 'not a public address'],
    ['fe80::1', 'not a public address'],
    ['fd12:3456::1', 'not a public address'],
    ['ff02::1', 'not a public address'],
    ['::ffff:10.0.0.1', 'not a public address'],
    ['104.16.132.229', 'a shared CDN range'],
    ['151.101.1.69', 'a shared CDN range'],
    ['2606:4700::6810:84e5', 'a shared CDN range'],
    ['192.0.2.200', 'excluded by poolIps.exclude'],
    ['192.0.2.1', undefined],
    ['pool.example', 'not a public address'],
  ])('%s → %s', (address, reason) => {
    expect(policy.exclusion(address)).toBe(reason);
  });
});

describe('learned set', () => {
  test('shared addresses (names under too many domains) are left out; one pool’s endpoints count once', () => {
    const set = createLearnedSet(2);
    set.observe('198.51.100.1', 'xmr.pool.example', 'mining-pools', 1);
    set.observe('198.51.100.1', 'eu.pool.example', 'mining-pools', 2);
    set.observe('198.51.100.1', 'us.pool.example', 'mining-pools', 3);
    for (const name of ['a.one.example', 'b.two.example', 'c.three.example'])
      set.observe('198.51.100.2', name, 'mining-pools', 1);
    expect(set.addresses()).toEqual([
      {
        address: '198.51.100.1',
        name: 'us.pool.example',
        list: 'mining-pools',
        names: ['eu.pool.example', 'us.pool.example', 'xmr.pool.example'],
        firstSeenMs: 1,
        lastSeenMs: 3,
      },
    ]);
    expect(set.shared).toBe(1);
    expect(set.seen).toBe(2);
  });

  test('a sighting seen again keeps its first time; expiry and forget remove sightings', () => {
    const set = createLearnedSet(3);
    set.load([{ address: '203.0.113.5', name: 'pool.example', list: 'mining-pools', firstSeenMs: 10, lastSeenMs: 20 }]);
    expect(set.observe('203.0.113.5', 'pool.example', 'mining-pools', 100)).toEqual({
      address: '203.0.113.5',
      name: 'pool.example',
      list: 'mining-pools',
      firstSeenMs: 10,
      lastSeenMs: 100,
    });
    set.observe('203.0.113.6', 'old.example', 'mining-pools', 30);
    expect(set.expire(50)).toBe(1);
    expect(set.addresses().map((entry) => entry.address)).toEqual(['203.0.113.5']);
    expect(set.forget(new Set(['203.0.113.5', '192.0.2.9']))).toEqual([
      { address: '203.0.113.5', name: 'pool.example' },
    ]);
    expect(set.addresses()).toEqual([]);
  });
});

describe('buildQuestionQuery', () => {
  test('a recursive question, or undefined for names that cannot be on the wire', () => {
    const query = buildQuestionQuery('xmr.pool.example', 28);
    expect(query?.wire.toString('hex')).toBe(
      `000001000001000000000000${Buffer.from('\x03xmr\x04pool\x07example\x00', 'latin1').toString('hex')}001c0001`,
    );
    expect(query?.questionEnd).toBe(query?.wire.length);
    expect(buildQuestionQuery(`${'a'.repeat(64)}.example`, 1)).toBeUndefined();
    expect(buildQuestionQuery('a..example', 1)).toBeUndefined();
    expect(buildQuestionQuery(Array.from({ length: 130 }, () => 'a').join('.'), 1)).toBeUndefined();
  });
});
