import { describe, expect, test } from 'vitest';
import { createDestinationPolicy, redirectRefusal, refusedRange } from '../../src/blocklist/fetch-destination.js';
import { normalizedCopy, createSlicer } from '../../src/blocklist/build.js';
import { parseList } from '../../src/blocklist/parse.js';

describe('refusedRange', () => {
  test.each<[string, string | undefined]>([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback (IPv4 in IPv6)'],
    ['::ffff:7f00:1', 'loopback (IPv4 in IPv6)'],
    ['::ffff:169.254.169.254', 'link-local (IPv4 in IPv6)'],
    ['64:ff9b::a00:1', 'private (IPv4 in IPv6)'],
    // Public
    ['8.8.8.8', undefined],
    ['172.32.0.1', undefined],
    ['100.128.0.1', undefined],
    ['169.255.0.1', undefined],
    ['2606:4700::1111', undefined],
    ['::ffff:8.8.8.8', undefined],
  ])('%s → %s', (address, expected) => {
    expect(refusedRange(address)).toBe(expected);
  });
});

describe('createDestinationPolicy', () => {
  test('refuses private destinations unless a CIDR or the hostname is allowed', () => {
    const none = createDestinationPolicy([]);
    expect(none.refusal('mirror.internal', '10.0.0.5')).toContain('private');
    expect(none.refusal('lists.example', '93.184.216.34')).toBeUndefined();
    const allowed = createDestinationPolicy(['10.0.0.0/24', 'Mirror.Internal.']);
    expect(allowed.refusal('x.example', '10.0.0.5')).toBeUndefined();
    expect(allowed.refusal('x.example', '10.0.1.5')).toContain('private');
    expect(allowed.refusal('mirror.internal', '192.168.0.9')).toBeUndefined();
    expect(allowed.refusal('other.internal', '169.254.169.254')).toContain('link-local');
  });

  test('an entry that is neither a CIDR nor a hostname is a configuration error naming the option', () => {
    expect(() => createDestinationPolicy(['not a host'])).toThrow(/lists\.allowPrivateSources/);
  });
});

describe('redirectRefusal', () => {
  const at = (url: string): URL => new URL(url);
  test.each<[string, string, string | undefined]>([
    ['https://lists.example/a', 'http://lists.example/b', 'redirect from https to http'],
    ['https://lists.example/a', 'https://cdn.example/b', undefined],
    ['http://lists.example/a', 'https://cdn.example/b', undefined],
    ['http://lists.example/a', 'http://cdn.example/b', undefined],
    ['https://lists.example/a', 'file:///etc/passwd', 'redirect to a file: URL'],
    ['http://lists.example/a', 'ftp://lists.example/b', 'redirect to a ftp: URL'],
  ])('%s → %s: %s', (from, to, expected) => {
    expect(redirectRefusal(at(from), at(to))).toBe(expected);
  });
});

describe('normalizedCopy', () => {
  test('keeps only the rules, one a line, and parses back to the same rules', async () => {
    const parsed = parseList('# secret: hunter2\n0.0.0.0 a.example\n0.0.0.0 B.Example.\n', 'hosts');
    const copy = await normalizedCopy({ ...parsed, wildcards: ['w.example'] }, createSlicer());
    expect(copy.text.toString()).toBe('a.example\nb.example\n*.w.example\n');
    const back = parseList(copy.text.toString(), 'domains');
    expect(back.domains).toEqual(parsed.domains);
    expect(back.wildcards).toEqual(['w.example']);
    expect(copy.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
