import { describe, expect, test } from 'vitest';
import { domainRange, reverseName } from '../../src/store/reversed-names.js';

describe('reverseName', () => {
  test.each([
    ['a.pool.com', 'com.pool.a.'],
    ['pool.com', 'com.pool.'],
    ['com', 'com.'],
    ['', '.'],
    ['xn--bcher-kva.de', 'de.xn--bcher-kva.'],
    [`${'a'.repeat(63)}.b`, `b.${'a'.repeat(63)}.`],
  ])('%j → %j', (qname, rname) => {
    expect(reverseName(qname)).toBe(rname);
  });
});

describe('domainRange', () => {
  const inRange = (domain: string, qname: string): boolean => {
    const range = domainRange(domain);
    if (range === undefined) return true;
    const rname = reverseName(qname);
    return rname >= range.low && rname < range.high;
  };

  test.each([
    ['pool.com', 'pool.com', true],
    ['pool.com', 'x.pool.com', true],
    ['pool.com', 'a.b.pool.com', true],
    ['pool.com', 'notpool.com', false],
    ['pool.com', 'pool.com.evil', false],
    ['pool.com', 'poolx.com', false],
    ['pool.com', 'pool.co', false],
    ['pool.com', 'com', false],
    ['POOL.com.', 'x.pool.com', true],
    ['com', 'pool.com', true],
    ['com', 'pool.net', false],
    ['', 'anything.at.all', true],
    ['.', 'anything.at.all', true],
    ['%', 'pool.com', false],
    ['_ool.com', 'pool.com', false],
    ["pool.com' OR '1'='1", 'pool.com', false],
  ])('domain %j matches %j: %s', (domain, qname, expected) => {
    expect(inRange(domain, qname)).toBe(expected);
  });

  test('the root is no range at all', () => {
    expect(domainRange('')).toBeUndefined();
    expect(domainRange('.')).toBeUndefined();
  });
});
