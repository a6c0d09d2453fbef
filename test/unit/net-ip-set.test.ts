import { describe, expect, test } from 'vitest';
import { ipToBytes } from '../../src/net/address.js';
import { parseCidrText } from '../../src/net/cidr-text.js';
import { createIpSetBuilder } from '../../src/net/ip-set.js';
import { parseList } from '../../src/blocklist/parse.js';
import { createIpBlocklist } from '../../src/blocklist/ip-blocklist.js';

describe('parseCidrText', () => {
  test.each<[string, string | undefined]>([
    ['198.51.100.7', '198.51.100.7'],
    ['198.51.100.7/32', '198.51.100.7'],
    ['198.51.100.7/24', '198.51.100.0/24'], // host bits cleared
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8::1/128', '2001:db8::1'],
    ['2001:db8:abcd:12::/48', '2001:db8:abcd::/48'],
    ['::ffff:198.51.100.1', '::ffff:c633:6401'],
    ['198.51.100.0/33', undefined],
    ['198.51.100.0/', undefined],
    ['198.51.100.0/-1', undefined],
    ['198.51.100.0/ 24', undefined],
    ['2001:db8::/129', undefined],
    ['fe80::1%eth0', undefined],
    ['256.1.1.1', undefined],
    ['pool.example', undefined],
    ['', undefined],
  ])('%j → %j', (input, expected) => {
    expect(parseCidrText(input)?.text).toBe(expected);
  });
});

function bytes(address: string): Buffer {
  const out = ipToBytes(address);
  if (out === undefined) throw new Error(`bad test address ${address}`);
  return out;
}

describe('IpSet', () => {
  const builder = createIpSetBuilder();
  const entries: [string, number][] = [
    ['203.0.113.0/24', 3],
    ['203.0.113.9', 1],
    ['198.51.100.0/25', 2],
    ['10.0.0.0/8', 4],
    ['255.255.255.255', 5],
    ['2001:db8:1::/48', 6],
    ['2001:db8:1:2::5', 0],
    ['2001:db8:ffff::/128', 7],
  ];
  for (const [text, tag] of entries) {
    const cidr = parseCidrText(text);
    if (cidr === undefined) throw new Error(text);
    builder.add(cidr, tag);
  }
  builder.add({ family: 4, bytes: bytes('203.0.113.0'), prefix: 24 }, 9); // a repeat keeps its first tag
  const set = builder.build();

  test.each<[string, number]>([
    ['203.0.113.1', 3],
    ['203.0.113.9', 1], // the lowest tag of the two covering networks
    ['203.0.113.255', 3],
    ['203.0.114.0', -1],
    ['203.0.112.255', -1],
    ['198.51.100.127', 2],
    ['198.51.100.128', -1],
    ['10.255.255.255', 4],
    ['11.0.0.0', -1],
    ['255.255.255.255', 5],
    ['0.0.0.0', -1],
    ['2001:db8:1:ffff::1', 6],
    ['2001:db8:1:2::5', 0],
    ['2001:db8:2::1', -1],
    ['2001:db8:ffff::', 7],
    ['2001:db8:ffff::1', -1],
    ['::', -1],
  ])('%s → tag %d', (address, tag) => {
    expect(set.matchText(address)).toBe(tag);
    // Straight from a message's bytes, at an offset.
    const raw = bytes(address);
    const message = Buffer.concat([Buffer.from([1, 2, 3]), raw]);
    expect(raw.length === 4 ? set.matchV4(message, 3) : set.matchV6(message, 3)).toBe(tag);
  });

  test('counts distinct networks; text that is not an address matches nothing', () => {
    expect(set.size).toBe(entries.length);
    expect(set.matchText('pool.example')).toBe(-1);
  });
});

describe('the ip list format', () => {
  test('addresses and CIDRs, comments, bad lines counted', () => {
    const text = [
      '# pool addresses',
      '198.51.100.7',
      '203.0.113.0/24  # a pool range',
      '2001:db8::/32;',
      '; another comment',
      '198.51.100.8 extra',
      'pool.example',
      '10.0.0.0/40',
      '',
    ].join('\n');
    const parsed = parseList(text, 'ip');
    expect(parsed.format).toBe('ip');
    expect(parsed.addresses).toEqual(['198.51.100.7', '203.0.113.0/24', '2001:db8::/32']);
    expect(parsed.domains).toEqual([]);
    expect(parsed.skippedByReason).toEqual({ invalid: 3 });
  });

  test('the name formats keep no addresses', () => {
    expect(parseList('198.51.100.7\npool.example\n', 'domains').addresses).toEqual([]);
  });
});

describe('createIpBlocklist', () => {
  test('the first list with a covering network reports it, with its mode and entry', () => {
    const blocklist = createIpBlocklist([
      { name: 'first', mode: 'alert', cidrs: ['203.0.113.0/24'] },
      { name: 'second', mode: 'block', cidrs: ['203.0.113.9', '198.51.100.0/24', 'not-an-address'] },
    ]);
    const verdict = blocklist.verdictOf(blocklist.set.matchText('203.0.113.9'));
    expect(verdict).toMatchObject({ kind: 'block', list: 'first', mode: 'alert', rule: '203.0.113.0/24' });
    expect(blocklist.verdictOf(blocklist.set.matchText('198.51.100.3'))).toMatchObject({
      list: 'second',
      mode: 'block',
      rule: '198.51.100.0/24',
    });
    expect(blocklist.set.matchText('192.0.2.1')).toBe(-1);
    expect(blocklist.lists).toEqual([
      { name: 'first', mode: 'alert', entries: 1 },
      { name: 'second', mode: 'block', entries: 2 },
    ]);
  });
});
