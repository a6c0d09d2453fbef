import { describe, expect, test } from 'vitest';
import { parseCidr, type Cidr } from '../../src/net/address.js';
import { createCidrMatcher, dottedPrefixOf } from '../../src/net/cidr-match.js';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (parsed === undefined) throw new Error(`bad test CIDR ${text}`);
  return parsed;
}

describe('createCidrMatcher', () => {
  test.each<[string, string, boolean]>([
    ['10.0.3.0/24', '10.0.3.0', true],
    ['10.0.3.0/24', '10.0.3.255', true],
    ['10.0.3.0/24', '10.0.4.0', false],
    ['10.0.3.0/24', '10.0.2.255', false],
    ['10.0.3.0/24', '110.0.3.1', false],
    ['10.0.3.7/24', '10.0.3.200', true], // host bits in the filter are ignored
    ['10.0.3.5/32', '10.0.3.5', true],
    ['10.0.3.5/32', '10.0.3.50', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['128.0.0.0/1', '128.0.0.0', true],
    ['10.0.3.0/24', '::ffff:10.0.3.1', false], // the other family never matches
    ['10.0.3.0/24', '10.0.3', false],
    ['10.0.3.0/24', '10.0.3.1.1', false],
    ['10.0.3.0/24', '10.0.3.256', false],
    ['10.0.3.0/24', '10.0.3.0001', false],
    ['10.0.3.0/24', '10..3.1', false],
    ['10.0.3.0/24', '', false],
    ['fd00:1::/64', 'fd00:1::5', true],
    ['fd00:1::/64', 'fd00:1::ffff:ffff:ffff:ffff', true],
    ['fd00:1::/64', 'fd00:1:0:1::5', false],
    ['fd00:1::/64', 'fd00:2::5', false],
    ['fd00:1::/64', '10.0.3.1', false],
    ['::/0', '2001:db8::1', true],
    ['::ffff:0:0/96', '::ffff:10.0.3.1', true],
    ['fd00:1::/64', 'not-an-address:', false],
  ])('%s holds %j: %s', (network, address, expected) => {
    expect(createCidrMatcher(cidr(network))(address)).toBe(expected);
  });
});

describe('dottedPrefixOf', () => {
  test.each<[string, string]>([
    ['10.0.3.0/24', '10.0.3.'],
    ['10.0.3.5/32', '10.0.3.'],
    ['10.0.16.0/20', '10.0.'],
    ['10.0.0.0/8', '10.'],
    ['10.0.0.0/7', ''],
    ['0.0.0.0/0', ''],
    ['fd00:1::/64', ''],
  ])('%s → %j', (network, prefix) => {
    expect(dottedPrefixOf(cidr(network))).toBe(prefix);
  });
});
