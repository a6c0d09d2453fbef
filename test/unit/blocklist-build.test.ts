import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  buildMatcherInSlices,
  createSlicer,
  hashInSlices,
  parseInSlices,
  textProblem,
} from '../../src/blocklist/build.js';
import { createMatcher, createMatcherBuilder, type ListInput } from '../../src/blocklist/matcher.js';
import { parseList, type ListFormatOption } from '../../src/blocklist/parse.js';
import { isPoolsinkError } from '../../src/errors.js';

/** Lines of every kind, repeated past several 256 KB slices, with CRLF and a BOM. */
function mixedList(lines: readonly string[], repeat: number, crlf = false): Buffer {
  const out: string[] = [];
  for (let i = 0; i < repeat; i++) for (const line of lines) out.push(line.replaceAll('{i}', String(i)));
  return Buffer.from(`\uFEFF${out.join(crlf ? '\r\n' : '\n')}`, 'utf8');
}

const HOSTS_LINES = [
  '# comment',
  '0.0.0.0 pool{i}.example.com',
  '127.0.0.1 localhost',
  '0.0.0.0 a{i}.ex.net b{i}.ex.net # two',
  '0.0.0.0 bad..name',
  '',
];
const DOMAIN_LINES = [
  '# header',
  'pool{i}.example.com',
  '*.wild{i}.example.org',
  'Bücher{i}.de',
  'host{i}.com/path',
  '1.2.3.4',
  '   ',
];
const ADBLOCK_LINES = [
  '! comment',
  '||pool{i}.example.com^',
  '||*.w{i}.example.io^$third-party',
  '@@||ok{i}.example^',
  'example.com##.ad',
  '||x{i}.com/miner.js',
  '[Adblock Plus 2.0]',
];

describe('parseInSlices gives what parseList gives on the whole text', () => {
  test.each<[string, readonly string[], ListFormatOption, boolean]>([
    ['hosts, auto', HOSTS_LINES, 'auto', false],
    ['hosts, CRLF', HOSTS_LINES, 'hosts', true],
    ['domains, auto', DOMAIN_LINES, 'auto', false],
    ['domains, CRLF', DOMAIN_LINES, 'domains', true],
    ['adblock, auto', ADBLOCK_LINES, 'auto', false],
  ])('%s', async (_label, lines, format, crlf) => {
    const bytes = mixedList(lines, 20_000, crlf);
    expect(bytes.length).toBeGreaterThan(3 * 256 * 1024);
    const expected = parseList(bytes.toString('utf8'), format);
    const slicer = createSlicer(1);
    const parsed = await parseInSlices(bytes, format, slicer);
    expect(parsed.format).toBe(expected.format);
    expect(parsed.skipped).toBe(expected.skipped);
    expect(parsed.skippedByReason).toEqual(expected.skippedByReason);
    expect(parsed.domains).toEqual(expected.domains);
    expect(parsed.wildcards).toEqual(expected.wildcards);
    expect(slicer.slices).toBeGreaterThan(0);
  });

  test.each([
    ['empty', ''],
    ['no final newline', 'a.example\nb.example'],
    ['only comments', '# a\n# b\n'],
  ])('%s', async (_label, text) => {
    const parsed = await parseInSlices(Buffer.from(text), 'auto', createSlicer());
    const expected = parseList(text, 'auto');
    expect(parsed).toEqual(expected);
  });
});

describe('textProblem', () => {
  test.each([
    ['a plain list', Buffer.from('pool.example\n# comment\twith tab\r\n')],
    ['Latin-1 bytes in a comment', Buffer.from([0x23, 0x20, 0xe9, 0x0a, 0x61, 0x2e, 0x63, 0x6f, 0x0a])],
    ['empty', Buffer.alloc(0)],
  ])('%s is text', (_label, bytes) => {
    expect(textProblem(bytes)).toBeUndefined();
  });

  test.each([
    ['a NUL byte', Buffer.from('pool.example\n\0\n')],
    ['a PNG header', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])],
    ['control characters', Buffer.from('\x01\x02\x03\x04 a.example\n'.repeat(10))],
  ])('%s is not', (_label, bytes) => {
    expect(textProblem(bytes)).toMatch(/^not a text list/);
  });

  test('random bytes are not text', () => {
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    expect(textProblem(random)).toBeDefined();
  });
});

test('hashInSlices is the SHA-256 of the whole', async () => {
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
  expect(await hashInSlices(bytes, createSlicer(0))).toBe(createHash('sha256').update(bytes).digest('hex'));
});

describe('buildMatcherInSlices and createMatcherBuilder', () => {
  const lists: ListInput[] = [
    { name: 'pools', mode: 'block', domains: ['pool.com', 'x.example.net', 'pool.com'], wildcards: ['wild.io'] },
    { name: 'watch', mode: 'alert', domains: ['pool.com', 'alert.com'], wildcards: ['pool.com'] },
  ];
  const probes = [
    'pool.com',
    'a.pool.com',
    'x.example.net',
    'wild.io',
    'a.wild.io',
    'alert.com',
    'ok.alert.com',
    'other.org',
    'com',
    '',
  ];

  test('the same verdicts, sizes and summaries as createMatcher', async () => {
    const expected = createMatcher(lists, ['ok.alert.com']);
    const built = await buildMatcherInSlices(
      lists.map((l) => ({ name: l.name, mode: l.mode ?? 'block', domains: l.domains, wildcards: l.wildcards })),
      () => ['ok.alert.com'],
      createSlicer(),
    );
    for (const qname of probes) expect(built.match(qname)).toEqual(expected.match(qname));
    expect(built.size).toBe(expected.size);
    expect(built.lists).toEqual(expected.lists);
    expect(built.allowlistSize).toBe(1);
  });

  test('names added in pieces count as when added at once', () => {
    const builder = createMatcherBuilder();
    builder.startList('a');
    builder.addDomains(['p.com', 'q.com', 'p.com'], 0, 2);
    builder.addDomains(['p.com', 'q.com', 'p.com'], 2, 3);
    builder.startList('b', 'alert');
    builder.addDomains(['q.com', 'r.com'], 0, 2);
    builder.addWildcards(['q.com'], 0, 1);
    const m = builder.finish([]);
    expect(m.lists).toEqual([
      { name: 'a', mode: 'block', entries: 2 },
      { name: 'b', mode: 'alert', entries: 3 },
    ]);
    expect(m.size).toBe(4);
    expect(() => builder.finish([])).toThrow();
  });

  test('the allowlist is read when the build ends', async () => {
    let allowlist = ['a.pool.com'];
    const slicer = createSlicer(0);
    const pending = buildMatcherInSlices(
      [{ name: 'p', mode: 'block', domains: ['pool.com'], wildcards: [] }],
      () => allowlist,
      slicer,
    );
    allowlist = ['b.pool.com'];
    const m = await pending;
    expect(m.match('b.pool.com')).toEqual({ kind: 'allowlisted', rule: 'b.pool.com' });
    expect(m.match('a.pool.com').kind).toBe('block');
  });

  test('withAllowlist shares the lists and replaces only the allowlist', () => {
    const m = createMatcher(lists, ['ok.alert.com']);
    const next = m.withAllowlist(['x.example.net', 'POOL.com.']);
    expect(next.match('a.pool.com')).toEqual({ kind: 'allowlisted', rule: 'pool.com' });
    expect(next.match('x.example.net')).toEqual({ kind: 'allowlisted', rule: 'x.example.net' });
    expect(next.match('ok.alert.com').kind).toBe('block');
    expect(m.match('a.pool.com').kind).toBe('block'); // the old matcher is untouched
    expect(next.size).toBe(m.size);
    expect(next.lists).toBe(m.lists);
    let thrown: unknown;
    try {
      m.withAllowlist(['not a name']);
    } catch (err: unknown) {
      thrown = err;
    }
    expect(isPoolsinkError(thrown, 'ERR_CONFIG_INVALID')).toBe(true);
  });

  test('a big build yields: timers run while it goes on, and no slice is long', async () => {
    const domains = Array.from({ length: 200_000 }, (_, i) => `pool-${i}.bench-mining.test`);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const slicer = createSlicer(5);
    const m = await buildMatcherInSlices([{ name: 'big', mode: 'block', domains, wildcards: [] }], () => [], slicer);
    clearInterval(timer);
    expect(m.size).toBe(200_000);
    expect(m.match('x.pool-199999.bench-mining.test').kind).toBe('block');
    expect(slicer.slices).toBeGreaterThan(3);
    expect(ticks).toBeGreaterThan(3);
  });
});
