import { describe, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import { createMatcher, type ListInput, type Verdict } from '../../src/blocklist/matcher.js';

const label63 = 'a'.repeat(63);
const longName = `${label63}.${label63}.${label63}.${'b'.repeat(52)}.pool.com`; // 253 characters

const lists: ListInput[] = [
  {
    name: 'pools',
    domains: ['pool.com', 'xmr.example.net', 'deep.a.b.c.org', 'xn--bcher-kva.de', 'good.pool.com', 'pool.com'],
    wildcards: ['wild.io'],
  },
  {
    name: 'watch',
    mode: 'alert',
    domains: ['pool.com', 'alert-only.com', 'both.com', 'x.xmr.example.net'],
    wildcards: ['both.com', 'pool.com'],
  },
];
const matcher = createMatcher(lists, ['good.pool.com', 'ok.wild.io', 'Safe.Alert-Only.com.']);

const block = (list: string, listIndex: number, rule: string, mode: 'block' | 'alert' = 'block'): Verdict => ({
  kind: 'block',
  list,
  listIndex,
  mode,
  rule,
});
const allow: Verdict = { kind: 'allow' };
const allowlisted = (rule: string): Verdict => ({ kind: 'allowlisted', rule });

describe('match', () => {
  test('the long qname is the longest a DNS name can be', () => {
    expect(longName).toHaveLength(253);
  });

  test.each<[string, Verdict]>([
    ['pool.com', block('pools', 0, 'pool.com')],
    ['x.pool.com', block('pools', 0, 'pool.com')],
    ['a.b.c.x.pool.com', block('pools', 0, 'pool.com')],
    [longName, block('pools', 0, 'pool.com')],
    ['notpool.com', allow],
    ['pool.co', allow],
    ['pool.com.evil.net', allow],
    ['xpool.com', allow],
    ['com', allow],
    ['', allow],
    ['localhost', allow],
    ['wild.io', allow],
    ['a.wild.io', block('pools', 0, '*.wild.io')],
    ['a.b.wild.io', block('pools', 0, '*.wild.io')],
    ['notwild.io', allow],
    ['xmr.example.net', block('pools', 0, 'xmr.example.net')],
    ['example.net', allow],
    ['deep.a.b.c.org', block('pools', 0, 'deep.a.b.c.org')],
    ['b.c.org', allow],
    ['www.xn--bcher-kva.de', block('pools', 0, 'xn--bcher-kva.de')],
    ['alert-only.com', block('watch', 1, 'alert-only.com', 'alert')],
    ['both.com', block('watch', 1, 'both.com', 'alert')],
    ['x.both.com', block('watch', 1, 'both.com', 'alert')],
  ])('%j', (qname, expected) => {
    expect(matcher.match(qname)).toEqual(expected);
  });

  test.each<[string, Verdict]>([
    ['good.pool.com', allowlisted('good.pool.com')],
    ['x.good.pool.com', allowlisted('good.pool.com')],
    ['ok.wild.io', allowlisted('ok.wild.io')],
    ['deeper.ok.wild.io', allowlisted('ok.wild.io')],
    ['safe.alert-only.com', allowlisted('safe.alert-only.com')],
    ['bad.good2.pool.com', block('pools', 0, 'pool.com')],
    ['notgood.pool.com', block('pools', 0, 'pool.com')],
  ])('allowlist: %j', (qname, expected) => {
    expect(matcher.match(qname)).toEqual(expected);
  });

  test('a name allowlisted without any list matching it is plainly allowed', () => {
    const m = createMatcher([], ['good.example.com']);
    expect(m.match('good.example.com')).toEqual(allow);
  });

  test('the allow verdict is one shared frozen object', () => {
    const first = matcher.match('example.org');
    expect(first).toBe(matcher.match('other.example.org'));
    expect(first).toBe(createMatcher([], []).match('x.y'));
    expect(Object.isFrozen(first)).toBe(true);
  });

  test('an allowlisted verdict is reused, a block verdict is new per hit', () => {
    expect(matcher.match('good.pool.com')).toBe(matcher.match('a.good.pool.com'));
    expect(matcher.match('pool.com')).not.toBe(matcher.match('pool.com'));
  });
});

describe('precedence between lists and rules', () => {
  test.each<[string, ListInput[], string, Verdict]>([
    [
      'first list wins for the same name',
      [
        { name: 'a', mode: 'alert', domains: ['pool.com'], wildcards: [] },
        { name: 'b', domains: ['pool.com'], wildcards: [] },
      ],
      'x.pool.com',
      block('a', 0, 'pool.com', 'alert'),
    ],
    [
      'first list wins over a more specific rule of a later list',
      [
        { name: 'a', domains: ['pool.com'], wildcards: [] },
        { name: 'b', mode: 'alert', domains: ['x.pool.com'], wildcards: [] },
      ],
      'y.x.pool.com',
      block('a', 0, 'pool.com'),
    ],
    [
      'within one list the most specific rule is reported',
      [{ name: 'a', domains: ['pool.com', 'x.pool.com'], wildcards: [] }],
      'y.x.pool.com',
      block('a', 0, 'x.pool.com'),
    ],
    [
      'the most specific rule is reported for a list after the first, too',
      [
        { name: 'a', domains: ['other.com'], wildcards: [] },
        { name: 'b', domains: ['pool.com', 'x.pool.com'], wildcards: ['x.pool.com'] },
      ],
      'y.x.pool.com',
      block('b', 1, 'x.pool.com'),
    ],
    [
      'a later list still blocks what the first list does not cover',
      [
        { name: 'a', domains: ['x.pool.com'], wildcards: [] },
        { name: 'b', domains: ['pool.com'], wildcards: [] },
      ],
      'z.pool.com',
      block('b', 1, 'pool.com'),
    ],
    [
      'an exact entry beats a wildcard for the same name in the same list',
      [{ name: 'a', domains: ['pool.com'], wildcards: ['pool.com'] }],
      'x.pool.com',
      block('a', 0, 'pool.com'),
    ],
    [
      'a wildcard never covers its own apex, even when a later list has it',
      [
        { name: 'a', domains: [], wildcards: ['pool.com'] },
        { name: 'b', mode: 'alert', domains: ['pool.com'], wildcards: [] },
      ],
      'pool.com',
      block('b', 1, 'pool.com', 'alert'),
    ],
    [
      'a wildcard of the first list beats the exact entry of a later one below the apex',
      [
        { name: 'a', domains: [], wildcards: ['pool.com'] },
        { name: 'b', mode: 'alert', domains: ['pool.com'], wildcards: [] },
      ],
      'x.pool.com',
      block('a', 0, '*.pool.com'),
    ],
  ])('%s', (_label, input, qname, expected) => {
    expect(createMatcher(input, []).match(qname)).toEqual(expected);
  });

  test('the allowlist wins even over an exact entry of the name itself', () => {
    const m = createMatcher(
      [{ name: 'a', domains: ['pool.com', 'good.pool.com'], wildcards: ['good.pool.com'] }],
      ['good.pool.com'],
    );
    expect(m.match('good.pool.com')).toEqual(allowlisted('good.pool.com'));
    expect(m.match('x.good.pool.com')).toEqual(allowlisted('good.pool.com'));
    expect(m.match('pool.com')).toEqual(block('a', 0, 'pool.com'));
  });
});

describe('sizes', () => {
  test('counts distinct entries per list and overall', () => {
    expect(matcher.size).toBe(11); // pool.com, *.pool.com, both.com, *.both.com count twice each
    expect(matcher.lists).toEqual([
      { name: 'pools', mode: 'block', entries: 6 }, // pool.com twice counts once
      { name: 'watch', mode: 'alert', entries: 6 },
    ]);
    expect(matcher.allowlistSize).toBe(3);
  });

  test('a name in two lists counts once for each list but once in size', () => {
    const m = createMatcher(
      [
        { name: 'a', domains: ['p.com', 'q.com'], wildcards: [] },
        { name: 'b', domains: ['q.com', 'q.com', 'p.com', 'r.com'], wildcards: ['q.com', 'q.com'] },
        { name: 'c', domains: ['q.com'], wildcards: [] },
      ],
      [],
    );
    expect(m.lists.map((l) => l.entries)).toEqual([2, 4, 1]);
    expect(m.size).toBe(4);
  });

  test('blockSize counts the entries a block list owns: what an alert list has alone only reports', () => {
    const m = createMatcher(
      [
        { name: 'pools', mode: 'block', domains: ['p.com', 'shared.com'], wildcards: ['w.com'] },
        { name: 'doh', mode: 'alert', domains: ['shared.com', 'dns.example', 'doh.example'], wildcards: [] },
        { name: 'late', mode: 'block', domains: ['doh.example', 'r.com'], wildcards: [] },
      ],
      [],
    );
    expect(m.size).toBe(6);
    // shared.com belongs to pools (first list wins); doh.example to doh, so it is only alerted on.
    expect(m.blockSize).toBe(4);
    expect(m.match('doh.example')).toMatchObject({ kind: 'block', list: 'doh', mode: 'alert' });
    expect(m.withAllowlist(['p.com']).blockSize).toBe(4);
  });

  test('no lists and no allowlist', () => {
    const m = createMatcher([], []);
    expect(m.size).toBe(0);
    expect(m.blockSize).toBe(0);
    expect(m.lists).toEqual([]);
    expect(m.allowlistSize).toBe(0);
    expect(m.match('pool.com')).toEqual(allow);
  });
});

describe('createMatcher input checks', () => {
  test.each(['com', 'bad..name', '*.pool.com', '', '1.2.3.4'])('rejects allowlist entry %j', (entry) => {
    let thrown: unknown;
    try {
      createMatcher([], [entry]);
    } catch (err: unknown) {
      thrown = err;
    }
    expect(isPoolsinkError(thrown, 'ERR_CONFIG_INVALID')).toBe(true);
    expect(String(thrown)).toContain(JSON.stringify(entry));
  });

  test('normalizes allowlist entries', () => {
    const m = createMatcher([{ name: 'a', domains: ['pool.com'], wildcards: [] }], ['GOOD.Pool.com.']);
    expect(m.match('good.pool.com')).toEqual(allowlisted('good.pool.com'));
  });
});
