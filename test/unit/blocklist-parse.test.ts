import { describe, expect, test } from 'vitest';
import { detectFormat, parseList, type ListFormat } from '../../src/blocklist/parse.js';
import { normalizeDomain } from '../../src/net/domain-name.js';

const label63 = 'a'.repeat(63);
const label64 = 'a'.repeat(64);
/** 3 × (63 + 1) + 58 + 1 + 2 = 253 characters, the longest name allowed. */
const name253 = `${label63}.${label63}.${label63}.${'b'.repeat(58)}.io`;
const name254 = `c${name253}`;

test('the long-name fixtures have the lengths their names say', () => {
  expect(name253).toHaveLength(253);
  expect(name254).toHaveLength(254);
});

describe('normalizeDomain', () => {
  test.each([
    ['pool.com', 'pool.com'],
    ['POOL.Com', 'pool.com'],
    ['pool.com.', 'pool.com'],
    ['sub.Pool.COM.', 'sub.pool.com'],
    ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
    ['XN--BCHER-KVA.DE', 'xn--bcher-kva.de'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['_dmarc.example.com', '_dmarc.example.com'],
    ['a-b.example', 'a-b.example'],
    ['1.2.3.com', '1.2.3.com'],
    ['0x.io', '0x.io'],
    [`${label63}.com`, `${label63}.com`],
    [name253, name253],
    [`${name253}.`, name253],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });

  test.each([
    ['', 'empty'],
    ['.', 'root'],
    ['com', 'single label'],
    ['localhost', 'single label'],
    ['pool.com..', 'two trailing dots'],
    ['.pool.com', 'leading dot'],
    ['a..pool.com', 'empty label'],
    [`${label64}.com`, '64-byte label'],
    [name254, '254 characters'],
    [`${name254}.`, '254 characters plus the root dot'],
    ['-pool.com', 'label starts with a hyphen'],
    ['pool-.com', 'label ends with a hyphen'],
    ['a.-b.com', 'inner label starts with a hyphen'],
    ['1.2.3.4', 'IPv4 address'],
    ['example.123', 'numeric top-level label'],
    ['::1', 'IPv6 address'],
    ['*.pool.com', 'wildcard'],
    ['pool.com/path', 'path'],
    ['pool.com:3333', 'port'],
    ['po ol.com', 'space'],
    ['pool.com\r', 'carriage return'],
    ['pool!.com', 'punctuation'],
  ])('rejects %j (%s)', (input) => {
    expect(normalizeDomain(input)).toBeUndefined();
  });
});

interface Row {
  line: string;
  domains?: string[];
  wildcards?: string[];
  skipped?: Record<string, number>;
}

function expectParsed(text: string, format: ListFormat, row: Row): void {
  const parsed = parseList(text, format);
  expect(parsed.format).toBe(format);
  expect(parsed.domains).toEqual(row.domains ?? []);
  expect(parsed.wildcards).toEqual(row.wildcards ?? []);
  expect(parsed.skippedByReason).toEqual(row.skipped ?? {});
  const reasonTotal = Object.values(parsed.skippedByReason).reduce((sum, n) => sum + n, 0);
  expect(parsed.skipped).toBe(reasonTotal);
}

describe('parseList hosts', () => {
  test.each<Row>([
    { line: '0.0.0.0 pool.com', domains: ['pool.com'] },
    { line: '127.0.0.1\tPool.COM.', domains: ['pool.com'] },
    { line: ':: pool.com', domains: ['pool.com'] },
    { line: '::1 pool.com', domains: ['pool.com'] },
    { line: '  0.0.0.0   pool.com   ', domains: ['pool.com'] },
    { line: '0.0.0.0 a.com b.com # two names', domains: ['a.com', 'b.com'] },
    { line: '0.0.0.0 a.com#comment', domains: ['a.com'] },
    { line: '0.0.0.0 xn--bcher-kva.de', domains: ['xn--bcher-kva.de'] },
    { line: '# 0.0.0.0 commented.com' },
    { line: '   #indented comment' },
    { line: '127.0.0.1 localhost', skipped: { localhost: 1 } },
    { line: '127.0.0.1 localhost.localdomain', skipped: { localhost: 1 } },
    { line: '255.255.255.255 broadcasthost', skipped: { localhost: 1 } },
    { line: '::1 ip6-localhost ip6-loopback', skipped: { localhost: 2 } },
    { line: 'fe80::1%lo0 localhost', skipped: { localhost: 1 } },
    { line: 'ff02::2 ip6-allrouters', skipped: { localhost: 1 } },
    { line: '127.0.1.1 local', skipped: { localhost: 1 } },
    { line: '0.0.0.0 0.0.0.0', skipped: { localhost: 1 } },
    { line: '127.0.0.1 localhost pool.com', domains: ['pool.com'], skipped: { localhost: 1 } },
    { line: '0.0.0.0 1.2.3.4', skipped: { ip: 1 } },
    { line: '0.0.0.0 *.pool.com', skipped: { pattern: 1 } },
    { line: '0.0.0.0 pool.com/miner.js', skipped: { path: 1 } },
    { line: '0.0.0.0 bad..name', skipped: { invalid: 1 } },
    { line: `0.0.0.0 ${label64}.com`, skipped: { invalid: 1 } },
    { line: '0.0.0.0 intranet', skipped: { invalid: 1 } },
    { line: 'pool.com', skipped: { invalid: 1 } },
    { line: '0.0.0.0', skipped: { invalid: 1 } },
    { line: '999.0.0.0 pool.com', skipped: { invalid: 1 } },
  ])('$line', (row) => {
    expectParsed(row.line, 'hosts', row);
  });
});

describe('parseList domains', () => {
  test.each<Row>([
    { line: 'pool.com', domains: ['pool.com'] },
    { line: 'POOL.COM.', domains: ['pool.com'] },
    { line: '\t pool.com \t', domains: ['pool.com'] },
    { line: 'pool.com # trailing comment', domains: ['pool.com'] },
    { line: 'pool.com#trailing', domains: ['pool.com'] },
    { line: '*.pool.com', wildcards: ['pool.com'] },
    { line: '*.Pool.Com.', wildcards: ['pool.com'] },
    { line: '# comment' },
    { line: '! comment' },
    { line: '*pool.com', skipped: { pattern: 1 } },
    { line: 'po*ol.com', skipped: { pattern: 1 } },
    { line: '*.com', skipped: { invalid: 1 } },
    { line: '1.2.3.4', skipped: { ip: 1 } },
    { line: '2001:db8::1', skipped: { ip: 1 } },
    { line: '0.0.0.0 pool.com', skipped: { ip: 1 } },
    { line: 'a.com b.com', skipped: { invalid: 1 } },
    { line: 'http://pool.com/x', skipped: { path: 1 } },
    { line: 'pool.com/miner.js', skipped: { path: 1 } },
    { line: 'localhost', skipped: { localhost: 1 } },
    { line: 'com', skipped: { invalid: 1 } },
    { line: name254, skipped: { invalid: 1 } },
    { line: name253, domains: [name253] },
  ])('$line', (row) => {
    expectParsed(row.line, 'domains', row);
  });
});

describe('parseList adblock', () => {
  test.each<Row>([
    { line: '||pool.com^', domains: ['pool.com'] },
    { line: '||pool.com^$third-party', domains: ['pool.com'] },
    { line: '||Pool.COM^|', domains: ['pool.com'] },
    { line: '||pool.com', domains: ['pool.com'] },
    { line: '||pool.com$third-party', domains: ['pool.com'] },
    { line: '||pool.com^$third-party,domain=~webmine.cz', domains: ['pool.com'] },
    { line: '||*.pool.com^', wildcards: ['pool.com'] },
    { line: 'pool.com', domains: ['pool.com'] },
    { line: '! comment' },
    { line: '!#include other.txt' },
    { line: '[Adblock Plus 2.0]' },
    { line: '# AdGuard-style comment' },
    { line: '||pool.com^$badfilter', skipped: { exception: 1 } },
    { line: '||pool.com^$third-party,badfilter', skipped: { exception: 1 } },
    { line: '@@||pool.com^', skipped: { exception: 1 } },
    { line: '@@||api.pool.com^$websocket', skipped: { exception: 1 } },
    { line: '##.miner-banner', skipped: { cosmetic: 1 } },
    { line: 'example.com##.ad', skipped: { cosmetic: 1 } },
    { line: 'example.com#@#.ad', skipped: { cosmetic: 1 } },
    { line: 'example.com#?#div:has(.miner)', skipped: { cosmetic: 1 } },
    { line: 'example.com#$#body { color: red }', skipped: { cosmetic: 1 } },
    { line: 'example.com#%#//scriptlet("abort")', skipped: { cosmetic: 1 } },
    { line: 'example.com,example.org##.ad', skipped: { cosmetic: 1 } },
    { line: 'example.com$$script[tag-content="miner"]', skipped: { cosmetic: 1 } },
    { line: '||1.2.3.4^', skipped: { ip: 1 } },
    { line: '||45.15.156.210^$third-party', skipped: { ip: 1 } },
    { line: '||[2001:db8::1]^', skipped: { ip: 1 } },
    { line: '||pool.com/miner.js', skipped: { path: 1 } },
    { line: '||pool.com^*?proxy=', skipped: { path: 1 } },
    { line: '||pool.com^*=wss://$third-party', skipped: { path: 1 } },
    { line: '/regex/', skipped: { path: 1 } },
    { line: '/^https?:\\/\\/([0-9a-z-]+\\.)?pool\\.com\\//$script', skipped: { path: 1 } },
    { line: 'host.com/miner.js', skipped: { path: 1 } },
    { line: '-coin-hive.js', skipped: { path: 1 } },
    { line: '.info^$domain=example.org', skipped: { path: 1 } },
    { line: '$websocket,domain=a.com|b.com', skipped: { path: 1 } },
    { line: '|https://pool.com^', skipped: { path: 1 } },
    { line: '||minero-proxy-*.now.sh^$third-party', skipped: { pattern: 1 } },
    { line: '||pool.*/assets/$subdocument', skipped: { pattern: 1 } },
    { line: '||localhost^', skipped: { localhost: 1 } },
    { line: '||bad..name^', skipped: { invalid: 1 } },
  ])('$line', (row) => {
    expectParsed(row.line, 'adblock', row);
  });
});

describe('parseList whole texts', () => {
  test('handles a BOM, CRLF, blank lines and keeps duplicates', () => {
    const text = '\uFEFF# header\r\n\r\npool.com\r\nPOOL.com\r\n   \r\n*.wild.io\r\nlast.net';
    const parsed = parseList(text, 'domains');
    expect(parsed.domains).toEqual(['pool.com', 'pool.com', 'last.net']);
    expect(parsed.wildcards).toEqual(['wild.io']);
    expect(parsed.skipped).toBe(0);
  });

  test('a BOM in front of a hosts line does not hide the address', () => {
    expect(parseList('\uFEFF0.0.0.0 pool.com\n', 'hosts').domains).toEqual(['pool.com']);
  });

  test.each<[string, ListFormat]>([
    ['0.0.0.0 a.com\n0.0.0.0 b.com\n', 'hosts'],
    ['a.com\nb.com\n', 'domains'],
    ['||a.com^\n||b.com^\n', 'adblock'],
  ])('auto resolves to the detected format (%#)', (text, format) => {
    const parsed = parseList(text, 'auto');
    expect(parsed.format).toBe(format);
    expect(parsed.domains).toEqual(['a.com', 'b.com']);
  });

  test('an empty text parses to nothing', () => {
    expect(parseList('', 'auto')).toEqual({
      format: 'domains',
      domains: [],
      wildcards: [],
      addresses: [],
      skipped: 0,
      skippedByReason: {},
    });
  });

  test.each<ListFormat>(['hosts', 'domains', 'adblock'])(
    'parses 1,000,000 %s lines (its speed: npm run bench, load1m)',
    (format) => {
      const prefix = format === 'hosts' ? '0.0.0.0 ' : format === 'adblock' ? '||' : '';
      const suffix = format === 'adblock' ? '^$third-party' : '';
      const lines: string[] = [];
      for (let i = 0; i < 1_000_000; i++) lines.push(`${prefix}host-${i}.pool${i % 97}.example${suffix}`);
      const text = lines.join('\n');
      const parsed = parseList(text, format);
      expect(parsed.domains.length).toBe(1_000_000);
      expect(parsed.domains[999_999]).toBe('host-999999.pool26.example');
    },
  );
});

describe('detectFormat', () => {
  test.each<[string, string, ListFormat]>([
    ['hosts', '# hosts\n127.0.0.1 localhost\n0.0.0.0 a.com\n0.0.0.0 b.com\n', 'hosts'],
    ['hosts with IPv6 and tabs', '::1\tlocalhost\n::\ta.com\n', 'hosts'],
    ['hosts with BOM and CRLF', '\uFEFF0.0.0.0 a.com\r\n0.0.0.0 b.com\r\n', 'hosts'],
    ['domains', '# list\na.com\nb.com\n*.c.com\n', 'domains'],
    ['adblock with header', '[Adblock Plus 2.0]\n! Title: x\n||a.com^\n||b.com^$third-party\n', 'adblock'],
    ['adblock without header', '||a.com^\n||b.com^\n', 'adblock'],
    ['adblock comments and exceptions', '! a\n! b\n@@||c.com^\nexample.com##.ad\n', 'adblock'],
    ['majority wins', 'a.com\nb.com\nc.com\n0.0.0.0 d.com\n', 'domains'],
    ['only comments', '# nothing\n# here\n', 'domains'],
    ['empty', '', 'domains'],
  ])('%s', (_label, text, expected) => {
    expect(detectFormat(text)).toBe(expected);
  });

  test('looks only at the first few hundred lines', () => {
    const text = `${'0.0.0.0 a.com\n'.repeat(600)}${'b.com\n'.repeat(1000)}`;
    expect(detectFormat(text)).toBe('hosts');
  });
});
