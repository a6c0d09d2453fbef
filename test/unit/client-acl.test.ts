import { describe, expect, test } from 'vitest';
import { createClientAcl } from '../../src/dns/acl.js';
import { parseCidr, type Cidr } from '../../src/net/address.js';

function cidrs(...texts: string[]): Cidr[] {
  return texts.map((text) => {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new Error(`bad CIDR in the test: ${text}`);
    return cidr;
  });
}

describe('client ACL', () => {
  test.each<[string[], string, boolean]>([
    [['127.0.0.0/8'], '127.0.0.1', true],
    [['127.0.0.0/8'], '127.255.255.255', true],
    [['127.0.0.0/8'], '128.0.0.1', false],
    [['127.0.0.0/8'], '126.255.255.255', false],
    [['10.0.0.0/8', '192.168.0.0/16'], '192.168.7.9', true],
    [['10.0.0.0/8', '192.168.0.0/16'], '192.169.0.1', false],
    [['172.16.0.0/12'], '172.31.255.255', true],
    [['172.16.0.0/12'], '172.32.0.0', false],
    [['192.0.2.7/32'], '192.0.2.7', true],
    [['192.0.2.7/32'], '192.0.2.6', false],
    [['192.0.2.6/31'], '192.0.2.7', true],
    [['128.0.0.0/1'], '255.255.255.255', true],
    [['128.0.0.0/1'], '127.255.255.255', false],
    [['0.0.0.0/0'], '203.0.113.1', true],
    [['0.0.0.0/0'], '::1', false],
    [['127.0.0.0/8'], '::ffff:127.0.0.1', true], // v4-mapped IPv6: the IPv4 networks decide
    [['127.0.0.0/8'], '::FFFF:127.0.0.1', true],
    [['127.0.0.0/8'], '::ffff:10.0.0.1', false],
    [['::1/128'], '::1', true],
    [['::1/128'], '127.0.0.1', false],
    [['fc00::/7'], 'fd12::1', true],
    [['fc00::/7'], 'fe80::1', false],
    [['127.0.0.0/8'], '127.0.0.01', false], // not an address node:net accepts
    [['127.0.0.0/8'], 'localhost', false],
    [[], '127.0.0.1', false],
  ])('%j allows %s: %s', (networks, address, allowed) => {
    const acl = createClientAcl(cidrs(...networks));
    expect(acl.allows(address)).toBe(allowed);
    expect(acl.allows(address)).toBe(allowed); // the memoised answer too
  });

  test('replace() applies to the next check, for IPv4 and IPv6 clients alike', () => {
    const acl = createClientAcl(cidrs('10.0.0.0/8', '::1/128'));
    expect([acl.allows('10.1.2.3'), acl.allows('::1'), acl.allows('192.0.2.1')]).toEqual([true, true, false]);
    acl.replace(cidrs('192.0.2.0/24'));
    expect([acl.allows('10.1.2.3'), acl.allows('::1'), acl.allows('192.0.2.1')]).toEqual([false, false, true]);
  });
});
