import { describe, expect, test } from 'vitest';
import DNS from 'dns2';
import { cacheKey, createDnsCache, type CacheOptions, type DnsCache } from '../../src/cache/dns-cache.js';
import { inspectResponse, type ResponseFacts } from '../../src/wire/inspect-response.js';
import { QTYPE, RCODE } from '../../src/wire/header.js';
import { PARSE, createParsedQuery, parseQuery, type ParsedQuery } from '../../src/wire/query.js';
import { isPoolsinkError } from '../../src/errors.js';
import { encodeQuery, type QueryOptions } from '../helpers/packets.js';
import { a, buildResponse, soa, type ResponseSpec } from '../helpers/dns2-responses.js';

const { Packet } = DNS;

const DEFAULTS: CacheOptions = { maxEntries: 100, minTtlSec: 0, maxTtlSec: 86_400, serveStaleSec: 3600 };
const T0 = 1_700_000_000_000;

interface Query {
  buf: Buffer;
  parsed: ParsedQuery;
  key: string;
}

function query(name: string, options: QueryOptions = {}): Query {
  const buf = encodeQuery(name, options);
  const parsed = createParsedQuery();
  if (parseQuery(buf, parsed) !== PARSE.OK) throw new Error(`test query for ${name} does not parse`);
  return { buf, parsed, key: cacheKey(parsed) };
}

interface UpstreamSpec extends Omit<ResponseSpec, 'optTtl' | 'id'> {
  edns?: boolean;
}

/** An upstream answer encoded by dns2; the question is lower-case, as the upstream sent it. */
function upstreamResponse(spec: UpstreamSpec): Buffer {
  const { edns, ...rest } = spec;
  return buildResponse({
    ...rest,
    id: 0x7777,
    name: (spec.name ?? 'example.com').toLowerCase(),
    ...(edns === true ? { optTtl: 0x8000 } : {}),
  });
}

function factsOf(response: Buffer): ResponseFacts {
  const facts = inspectResponse(response);
  if (facts === undefined) throw new Error('test response is malformed');
  return facts;
}

function storeResponse(cache: DnsCache, key: string, response: Buffer, nowMs = T0) {
  return cache.store(key, response, factsOf(response), nowMs);
}

/** All record TTLs of a message as dns2 decodes them, OPT excluded. */
function ttlsOf(response: Buffer): number[] {
  const decoded = Packet.parse(response);
  return [...decoded.answers, ...decoded.authorities, ...decoded.additionals]
    .filter((record) => record.type !== QTYPE.OPT)
    .map((record) => record.ttl);
}

describe('cacheKey', () => {
  const base = query('example.com').key;
  test.each([
    ['upper case name', query('EXAMPLE.com').key, true],
    ['same query with another ID and RD off', query('example.com', { id: 9, flags: 0 }).key, true],
    ['another name', query('example.org').key, false],
    ['a subdomain', query('www.example.com').key, false],
    ['qtype AAAA', query('example.com', { type: QTYPE.AAAA }).key, false],
    ['qclass CH', query('example.com', { qclass: 3 }).key, false],
    ['EDNS (answers are fitted per client, issue 17)', query('example.com', { edns: {} }).key, true],
    ['EDNS with DO', query('example.com', { edns: { dnssecOk: true } }).key, false],
    ['CD bit', query('example.com', { flags: 0x0110 }).key, false],
  ])('%s: same key as example.com/A/IN is %s', (_label, key, same) => {
    expect(key === base).toBe(same);
  });

  test('DO differs from no DO, CD from no CD; EDNS alone does not (issue 17: answers are fitted per client)', () => {
    expect(query('a.com', { edns: { dnssecOk: true } }).key).not.toBe(query('a.com', { edns: {} }).key);
    expect(query('a.com', { flags: 0x0110, edns: {} }).key).toBe(query('a.com', { flags: 0x0110 }).key);
    expect(query('a.com', { flags: 0x0110 }).key).not.toBe(query('a.com', { flags: 0x0100 }).key);
  });

  test.each([
    ['example.com', {}],
    ['MiXeD.Example.COM', { type: QTYPE.AAAA }],
    ['a.com', { edns: { dnssecOk: true } }],
    ['a.com', { flags: 0x0110 }],
    ['a.com', { type: 0x1234, qclass: 0xff01 }],
    ['', {}],
  ] satisfies [string, QueryOptions][])('parseQuery leaves cacheKey in questionKey (%s %j)', (name, options) => {
    const q = query(name, options);
    expect(q.parsed.questionKey).toBe(cacheKey({ ...q.parsed }));
    expect(q.parsed.questionKey.startsWith(q.parsed.qname)).toBe(true);
  });

  function keyOf(qname: string, qtype: number, qclass: number): string {
    const parsed = createParsedQuery();
    parsed.qname = qname;
    parsed.qtype = qtype;
    parsed.qclass = qclass;
    return cacheKey(parsed);
  }

  // Pairs that a key made by plain concatenation ("a" + 11 + 1 = "a" + 1 + 11) would confuse.
  test.each([
    [
      ['a1', 1, 1],
      ['a', 11, 1],
    ],
    [
      ['a', 1, 11],
      ['a', 11, 1],
    ],
    [
      ['a', 1, 1],
      ['a\u0000', 1, 1],
    ],
    [
      ['a\u0001', 1, 1],
      ['a', 1, 1],
    ],
  ] satisfies [[string, number, number], [string, number, number]][])('%j and %j get different keys', (x, y) => {
    expect(keyOf(...x)).not.toBe(keyOf(...y));
  });
});

describe('createDnsCache options', () => {
  test.each([
    ['maxEntries', { maxEntries: -1 }],
    ['maxEntries', { maxEntries: 1.5 }],
    ['minTtlSec', { minTtlSec: -5 }],
    ['maxTtlSec', { minTtlSec: 600, maxTtlSec: 60 }],
    ['serveStaleSec', { serveStaleSec: Number.NaN }],
    ['negativeMaxTtlSec', { minTtlSec: 60, negativeMaxTtlSec: 30 }],
  ] satisfies [string, Partial<CacheOptions>][])('a bad %s is rejected by name', (name, override) => {
    let caught: unknown;
    try {
      createDnsCache({ ...DEFAULTS, ...override });
    } catch (err: unknown) {
      caught = err;
    }
    expect(isPoolsinkError(caught, 'ERR_CONFIG_INVALID')).toBe(true);
    expect(caught instanceof Error ? caught.message : '').toContain(`cache.${name}`);
  });

  test('maxEntries 0 caches nothing', () => {
    const cache = createDnsCache({ ...DEFAULTS, maxEntries: 0 });
    const q = query('example.com');
    expect(storeResponse(cache, q.key, upstreamResponse({ answers: [a('example.com', 300)] }))).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});

describe('store: what is cached and for how long', () => {
  test.each([
    ['plain TTL', [300], {}, 300],
    ['lowest record TTL wins', [300, 45], {}, 45],
    ['raised to minTtlSec', [5], { minTtlSec: 60 }, 60],
    ['TTL 0 raised to minTtlSec', [0], { minTtlSec: 30 }, 30],
    ['lowered to maxTtlSec', [604_800], { maxTtlSec: 86_400 }, 86_400],
    ['exactly maxTtlSec', [3600], { maxTtlSec: 3600 }, 3600],
  ] satisfies [string, number[], Partial<CacheOptions>, number][])('positive, %s', (_label, ttls, options, ttlSec) => {
    const cache = createDnsCache({ ...DEFAULTS, ...options });
    const q = query('example.com');
    const entry = storeResponse(cache, q.key, upstreamResponse({ answers: ttls.map((ttl) => a('example.com', ttl)) }));
    expect(entry?.storedAtMs).toBe(T0);
    expect(entry?.expiresAtMs).toBe(T0 + ttlSec * 1000);
  });

  test.each([
    ['NXDOMAIN, SOA minimum', RCODE.NXDOMAIN, 900, 300, {}, 300],
    ['NXDOMAIN, SOA TTL', RCODE.NXDOMAIN, 120, 900, {}, 120],
    ['NODATA, SOA minimum', RCODE.NOERROR, 900, 600, {}, 600],
    ['NXDOMAIN capped by the default negativeMaxTtlSec 3600', RCODE.NXDOMAIN, 86_400, 86_400, {}, 3600],
    ['NXDOMAIN capped by negativeMaxTtlSec', RCODE.NXDOMAIN, 900, 900, { negativeMaxTtlSec: 60 }, 60],
    ['NXDOMAIN not capped by maxTtlSec', RCODE.NXDOMAIN, 900, 900, { maxTtlSec: 100 }, 900],
    ['NODATA raised to minTtlSec', RCODE.NOERROR, 900, 10, { minTtlSec: 30 }, 30],
    ['the default negativeMaxTtlSec yields to a higher minTtlSec', RCODE.NXDOMAIN, 900, 900, { minTtlSec: 7200 }, 7200],
  ] satisfies [string, number, number, number, Partial<CacheOptions>, number][])(
    'negative, %s',
    (_label, rcode, soaTtl, minimum, options, ttlSec) => {
      const cache = createDnsCache({ ...DEFAULTS, ...options });
      const q = query('gone.example.com');
      const response = upstreamResponse({
        name: 'gone.example.com',
        rcode,
        authorities: [soa('example.com', soaTtl, minimum)],
      });
      expect(storeResponse(cache, q.key, response)?.expiresAtMs).toBe(T0 + ttlSec * 1000);
    },
  );

  test('negative, not longer than a record in it lives (a CNAME before the NXDOMAIN)', () => {
    const cache = createDnsCache(DEFAULTS);
    const q = query('www.example.com');
    const response = upstreamResponse({
      name: 'www.example.com',
      rcode: RCODE.NXDOMAIN,
      answers: [{ name: 'www.example.com', type: QTYPE.CNAME, class: 1, ttl: 45, domain: 'gone.example.net' }],
      authorities: [soa('example.net', 900, 300)],
    });
    expect(storeResponse(cache, q.key, response)?.expiresAtMs).toBe(T0 + 45_000);
  });

  test.each([
    ['SERVFAIL', { rcode: RCODE.SERVFAIL, authorities: [soa('example.com', 900, 300)] }],
    ['REFUSED', { rcode: RCODE.REFUSED }],
    ['FORMERR', { rcode: RCODE.FORMERR }],
    ['NOTIMP', { rcode: RCODE.NOTIMP }],
    ['BADVERS (header rcode 0, extended 16)', { rcode: RCODE.BADVERS, edns: true, answers: [a('example.com', 300)] }],
    ['truncated', { tc: true, answers: [a('example.com', 300)] }],
    ['NXDOMAIN without SOA', { rcode: RCODE.NXDOMAIN }],
    ['NODATA without SOA', {}],
    ['TTL 0 with minTtlSec 0', { answers: [a('example.com', 0)] }],
    ['NXDOMAIN with SOA minimum 0', { rcode: RCODE.NXDOMAIN, authorities: [soa('example.com', 900, 0)] }],
  ] satisfies [string, UpstreamSpec][])('not cached: %s', (_label, spec) => {
    const cache = createDnsCache(DEFAULTS);
    const q = query('example.com');
    expect(storeResponse(cache, q.key, upstreamResponse(spec))).toBeUndefined();
    expect(cache.lookup(q.key, T0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test.each([
    ['a TTL offset past the end', (f: ResponseFacts) => ({ ...f, ttlOffsets: [...f.ttlOffsets, 1000] })],
    ['a TTL offset inside the header', (f: ResponseFacts) => ({ ...f, ttlOffsets: [2] })],
    ['a questionEnd past the end', (f: ResponseFacts) => ({ ...f, questionEnd: 5000 })],
  ])('not cached: facts that do not fit the response (%s)', (_label, corrupt) => {
    const cache = createDnsCache(DEFAULTS);
    const q = query('example.com');
    const response = upstreamResponse({ answers: [a('example.com', 300)] });
    expect(cache.store(q.key, response, corrupt(factsOf(response)), T0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('the stored bytes are a private copy', () => {
    const cache = createDnsCache(DEFAULTS);
    const q = query('example.com');
    const response = upstreamResponse({ answers: [a('example.com', 300)] });
    const original = Buffer.from(response);
    const entry = storeResponse(cache, q.key, response);
    response.fill(0);
    expect(entry?.response.equals(original)).toBe(true);
  });

  test('CNAME targets are kept on the entry', () => {
    const cache = createDnsCache(DEFAULTS);
    const q = query('www.example.com');
    const response = upstreamResponse({
      name: 'www.example.com',
      answers: [
        { name: 'www.example.com', type: QTYPE.CNAME, class: 1, ttl: 300, domain: 'Pool.Miner.example' },
        a('pool.miner.example', 60),
      ],
    });
    expect(storeResponse(cache, q.key, response)?.cnameTargets).toEqual(['pool.miner.example']);
  });
});

describe('lookup, lookupStale and the stale window', () => {
  // TTL 30 s, serve-stale 60 s: fresh until T0+30 s, stale-servable until T0+90 s.
  function setUp(serveStaleSec = 60) {
    const cache = createDnsCache({ ...DEFAULTS, serveStaleSec });
    const q = query('example.com');
    const entry = storeResponse(cache, q.key, upstreamResponse({ answers: [a('example.com', 30)] }));
    return { cache, q, entry };
  }

  test.each([
    ['just stored', 0, true, true, 1],
    ['last fresh millisecond', 29_999, true, true, 1],
    ['at expiry', 30_000, false, true, 1],
    ['last stale millisecond', 89_999, false, true, 1],
    ['end of the stale window', 90_000, false, false, 0],
    ['long after', 10_000_000, false, false, 0],
  ])('%s (+%i ms): fresh %s, stale-servable %s', (_label, elapsedMs, fresh, stale, sizeAfter) => {
    const { cache, q, entry } = setUp();
    expect(cache.lookup(q.key, T0 + elapsedMs)).toBe(fresh ? entry : undefined);
    expect(cache.lookupStale(q.key, T0 + elapsedMs)).toBe(stale ? entry : undefined);
    expect(cache.size).toBe(sizeAfter);
  });

  test('lookup alone deletes an entry past the stale window', () => {
    const { cache, q } = setUp();
    expect(cache.lookup(q.key, T0 + 90_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('a lookup inside the stale window keeps the entry for lookupStale', () => {
    const { cache, q, entry } = setUp();
    expect(cache.lookup(q.key, T0 + 45_000)).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.lookupStale(q.key, T0 + 45_000)).toBe(entry);
  });

  test('serveStaleSec 0: nothing is served after expiry', () => {
    const { cache, q } = setUp(0);
    expect(cache.lookupStale(q.key, T0 + 30_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('unknown keys miss', () => {
    const { cache } = setUp();
    expect(cache.lookup(query('example.org').key, T0)).toBeUndefined();
    expect(cache.lookupStale(query('example.org').key, T0)).toBeUndefined();
  });

  test('re-storing a key replaces the entry', () => {
    const { cache, q, entry } = setUp();
    const second = storeResponse(
      cache,
      q.key,
      upstreamResponse({ answers: [a('example.com', 600, '192.0.2.99')] }),
      T0 + 1000,
    );
    expect(second).not.toBe(entry);
    expect(cache.size).toBe(1);
    expect(cache.lookup(q.key, T0 + 100_000)).toBe(second);
  });

  test('delete and clear', () => {
    const { cache, q } = setUp();
    const other = query('example.org');
    storeResponse(cache, other.key, upstreamResponse({ name: 'example.org', answers: [a('example.org', 30)] }));
    expect(cache.size).toBe(2);
    cache.delete(q.key);
    expect(cache.size).toBe(1);
    expect(cache.lookup(q.key, T0)).toBeUndefined();
    expect(cache.lookup(other.key, T0)).toBeDefined();
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.lookup(other.key, T0)).toBeUndefined();
    // Still usable after clear.
    storeResponse(cache, q.key, upstreamResponse({ answers: [a('example.com', 30)] }));
    expect(cache.lookup(q.key, T0)).toBeDefined();
  });
});

describe('LRU eviction', () => {
  type Step = ['store' | 'lookup' | 'stale' | 'delete' | 'clear', string];

  function run(steps: Step[], maxEntries = 3): string[] {
    const cache = createDnsCache({ ...DEFAULTS, maxEntries });
    for (const [op, name] of steps) {
      const key = query(`${name}.com`).key;
      if (op === 'store')
        storeResponse(cache, key, upstreamResponse({ name: `${name}.com`, answers: [a(`${name}.com`, 300)] }));
      else if (op === 'lookup') cache.lookup(key, T0);
      else if (op === 'stale') cache.lookupStale(key, T0);
      else if (op === 'clear') cache.clear();
      else cache.delete(key);
    }
    expect(cache.size).toBeLessThanOrEqual(maxEntries);
    return ['a', 'b', 'c', 'd', 'e'].filter((name) => cache.lookupStale(query(`${name}.com`).key, T0) !== undefined);
  }

  test.each([
    [
      'oldest goes first',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['store', 'd'],
      ],
      ['b', 'c', 'd'],
    ],
    [
      'a hit protects an entry',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['lookup', 'a'],
        ['store', 'd'],
      ],
      ['a', 'c', 'd'],
    ],
    [
      'hits reorder repeatedly',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['lookup', 'a'],
        ['store', 'd'],
        ['lookup', 'c'],
        ['store', 'e'],
      ],
      ['c', 'd', 'e'],
    ],
    [
      'a hit on the newest changes nothing',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['lookup', 'c'],
        ['store', 'd'],
      ],
      ['b', 'c', 'd'],
    ],
    [
      'a re-store makes an entry newest',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['store', 'a'],
        ['store', 'd'],
      ],
      ['a', 'c', 'd'],
    ],
    [
      'lookupStale does not protect',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['stale', 'a'],
        ['store', 'd'],
      ],
      ['b', 'c', 'd'],
    ],
    [
      'delete frees a slot',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['delete', 'b'],
        ['store', 'd'],
      ],
      ['a', 'c', 'd'],
    ],
    [
      'delete of the oldest',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['delete', 'a'],
        ['store', 'd'],
        ['store', 'e'],
      ],
      ['c', 'd', 'e'],
    ],
    [
      'a deleted key stored again is newest',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['delete', 'a'],
        ['store', 'a'],
        ['store', 'd'],
      ],
      ['a', 'c', 'd'],
    ],
    [
      'clear starts the order afresh',
      [
        ['store', 'a'],
        ['store', 'b'],
        ['store', 'c'],
        ['clear', ''],
        ['store', 'd'],
        ['store', 'e'],
        ['store', 'a'],
        ['store', 'b'],
      ],
      ['a', 'b', 'e'],
    ],
  ] satisfies [string, Step[], string[]][])('%s', (_label, steps, kept) => {
    expect(run(steps)).toEqual(kept);
  });

  test('maxEntries 1 keeps only the newest', () => {
    expect(
      run(
        [
          ['store', 'a'],
          ['lookup', 'a'],
          ['store', 'b'],
        ],
        1,
      ),
    ).toEqual(['b']);
  });
});

describe('answer', () => {
  function setUp(spec: UpstreamSpec, queryName = 'example.com', options: Partial<CacheOptions> = {}) {
    const cache = createDnsCache({ ...DEFAULTS, ...options });
    const q = query(queryName, { id: 0xbeef });
    const response = upstreamResponse({ name: queryName, ...spec });
    const entry = cache.store(q.key, response, factsOf(response), T0);
    if (entry === undefined) throw new Error('test response was not cached');
    return { cache, q, entry, response };
  }

  const records = {
    answers: [a('example.com', 300), a('example.com', 60, '192.0.2.2')],
    authorities: [{ name: 'example.com', type: QTYPE.NS, class: 1, ttl: 900, ns: 'ns.example.com' }],
    additionals: [a('ns.example.com', 1200, '192.0.2.53')],
    edns: true,
  } satisfies UpstreamSpec;

  test.each([
    ['at once', 0, [300, 60, 900, 1200]],
    ['999 ms later: no whole second yet', 999, [300, 60, 900, 1200]],
    ['1 s later', 1000, [299, 59, 899, 1199]],
    ['59.9 s later', 59_900, [241, 1, 841, 1141]],
    ['stale, 100 s later: never below 0', 100_000, [200, 0, 800, 1100]],
    ['clock went backwards', -5000, [300, 60, 900, 1200]],
  ])('TTLs counted down, %s', (_label, elapsedMs, ttls) => {
    const { cache, q, entry } = setUp(records);
    expect(ttlsOf(cache.answer(entry, q.buf, q.parsed, T0 + elapsedMs))).toEqual(ttls);
  });

  test('one entry answering across seconds counts down each second, stale answers in between included', () => {
    const { cache, q, entry } = setUp(records);
    const at = (elapsedMs: number, fixedTtlSec?: number) =>
      ttlsOf(cache.answer(entry, q.buf, q.parsed, T0 + elapsedMs, fixedTtlSec));
    expect(at(0)).toEqual([300, 60, 900, 1200]);
    expect(at(999)).toEqual([300, 60, 900, 1200]);
    expect(at(1000)).toEqual([299, 59, 899, 1199]);
    expect(at(1500)).toEqual([299, 59, 899, 1199]);
    expect(at(1600, 30)).toEqual([30, 30, 30, 30]);
    expect(at(1700)).toEqual([299, 59, 899, 1199]);
    expect(at(2000)).toEqual([298, 58, 898, 1198]);
    expect(at(61_000)).toEqual([239, 0, 839, 1139]);
    expect(at(-5000)).toEqual([300, 60, 900, 1200]); // the clock went backwards
    expect(at(3000)).toEqual([297, 57, 897, 1197]);
  });

  test('fixedTtlSec sets every TTL; the OPT is the client\u2019s (none for a plain query, issue 17)', () => {
    const { cache, q, entry } = setUp(records);
    const out = cache.answer(entry, q.buf, q.parsed, T0 + 500_000, 30);
    expect(ttlsOf(out)).toEqual([30, 30, 30, 30]);
    expect(Packet.parse(out).additionals.find((record) => record.type === QTYPE.OPT)).toBeUndefined();
    const doQuery = query('example.com', { edns: { dnssecOk: true } });
    const withDo = cache.answer(entry, doQuery.buf, doQuery.parsed, T0 + 500_000, 30);
    expect(Packet.parse(withDo).additionals.find((record) => record.type === QTYPE.OPT)?.ttl).toBe(0x8000);
  });

  test('TTLs are capped at the entry lifetime (maxTtlSec)', () => {
    const { cache, q, entry } = setUp({ answers: [a('example.com', 604_800)] }, 'example.com', { maxTtlSec: 3600 });
    expect(ttlsOf(cache.answer(entry, q.buf, q.parsed, T0 + 10_000))).toEqual([3590]);
  });

  test('the ID is the query\u2019s, the stored buffer is untouched, and every answer is a new buffer', () => {
    const { cache, q, entry } = setUp(records);
    const snapshot = Buffer.from(entry.response);
    const first = cache.answer(entry, q.buf, q.parsed, T0 + 5000);
    const second = cache.answer(entry, q.buf, q.parsed, T0 + 5000, 30);
    expect(first.readUInt16BE(0)).toBe(0xbeef);
    expect(entry.response.readUInt16BE(0)).toBe(0x7777);
    expect(entry.response.equals(snapshot)).toBe(true);
    expect(first).not.toBe(second);
    expect(first).not.toBe(entry.response);
    expect(first.buffer === entry.response.buffer && first.byteOffset === entry.response.byteOffset).toBe(false);
    expect(first.length).toBe(entry.response.length);
  });

  test.each([['ExAmPlE.CoM'], ['EXAMPLE.COM'], ['example.com']])(
    'the question is copied from the query: %s',
    (name) => {
      const { cache, entry } = setUp(records);
      const q = query(name, { id: 1 });
      const out = cache.answer(entry, q.buf, q.parsed, T0);
      expect(out.subarray(12, q.parsed.questionEnd).equals(q.buf.subarray(12, q.parsed.questionEnd))).toBe(true);
      expect(Packet.parse(out).questions[0]?.name).toBe(name);
      // The rest, including records that point at the question, still decodes.
      expect(Packet.parse(out).answers.map((record) => record.address)).toEqual(['192.0.2.1', '192.0.2.2']);
    },
  );

  test.each([
    ['RD set in the query, AA set upstream', 0x0100, true, 0x01, 0x00],
    ['RD clear in the query', 0x0000, true, 0x00, 0x00],
    ['RD clear in the query, AA clear upstream', 0x0000, false, 0x00, 0x00],
  ])('flags: %s', (_label, queryFlags, aa, rd, aaOut) => {
    const { cache, entry } = setUp({ ...records, aa });
    const q = query('example.com', { flags: queryFlags });
    const out = cache.answer(entry, q.buf, q.parsed, T0);
    expect(out[2]! & 0x01).toBe(rd);
    expect(out[2]! & 0x04).toBe(aaOut);
    expect(out[2]! & 0x80).toBe(0x80); // still a response
    expect(out[3]).toBe(entry.response[3]); // RA and rcode as the upstream sent them
  });

  test('a query whose question is not the stored one gets SERVFAIL, not another name\u2019s records', () => {
    const { cache, entry } = setUp(records, 'example.com');
    const other = query('example.org', { id: 0x0101 });
    const out = cache.answer(entry, other.buf, other.parsed, T0);
    const decoded = Packet.parse(out);
    expect(decoded.header.rcode).toBe(RCODE.SERVFAIL);
    expect(decoded.header.id).toBe(0x0101);
    expect(decoded.questions[0]?.name).toBe('example.org');
    expect(decoded.answers).toHaveLength(0);
  });

  test.each([
    ['default negativeMaxTtlSec', {}, 800],
    ['negativeMaxTtlSec 600 caps it', { negativeMaxTtlSec: 600 }, 500],
  ] satisfies [string, Partial<CacheOptions>, number][])(
    'a negative answer counts down its SOA TTL (%s)',
    (_label, options, ttl) => {
      const { cache, q, entry } = setUp(
        { rcode: RCODE.NXDOMAIN, authorities: [soa('example.com', 900, 300)] },
        'gone.example.com',
        options,
      );
      const out = cache.answer(entry, q.buf, q.parsed, T0 + 100_000);
      expect(Packet.parse(out).header.rcode).toBe(RCODE.NXDOMAIN);
      expect(ttlsOf(out)).toEqual([ttl]);
    },
  );
});
