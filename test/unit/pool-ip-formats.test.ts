import { describe, expect, test } from 'vitest';
import { formatPoolIps, withoutCovered, SURICATA_SID_BASE } from '../../src/pool-ips/export-formats.js';
import type { PoolIpEntry } from '../../src/pool-ips/feed.js';
import { parseList } from '../../src/blocklist/parse.js';
import { parseSuricataRules } from '../helpers/suricata-rules.js';

const ENTRIES: PoolIpEntry[] = [
  { address: '203.0.113.0/24', family: 4, list: 'pool-ips', mode: 'block', source: 'list' },
  { address: '203.0.113.9', family: 4, list: 'pool-ips', mode: 'block', source: 'list' },
  {
    address: '198.51.100.10',
    family: 4,
    list: 'learned-pool-ips',
    mode: 'alert',
    source: 'learned',
    name: 'xmr.pool.example',
    names: ['eu.pool.example', 'xmr.pool.example'],
    firstSeenMs: Date.UTC(2026, 0, 1),
    lastSeenMs: Date.UTC(2026, 0, 2),
  },
  { address: '2001:db8::/32', family: 6, list: 'pool-ips', mode: 'block', source: 'list' },
  // A hostile name: quotes, semicolons, backslashes, control and non-ASCII bytes.
  {
    address: '2001:db9::10',
    family: 6,
    list: 'learned-pool-ips',
    mode: 'alert',
    source: 'learned',
    name: 'we"ird;\\x\u0007\u00e9.example',
    lastSeenMs: Date.UTC(2026, 0, 3),
  },
];

function body(format: Parameters<typeof formatPoolIps>[1], action?: 'drop' | 'alert'): string {
  const out = formatPoolIps(ENTRIES, format, action !== undefined ? { action } : {});
  if (out.kind !== 'text') throw new Error('not text');
  return out.body;
}

describe('pool IP export formats', () => {
  test('withoutCovered drops entries a broader entry covers', () => {
    expect(withoutCovered(ENTRIES).map((entry) => entry.address)).toEqual([
      '203.0.113.0/24',
      '198.51.100.10',
      '2001:db8::/32',
      '2001:db9::10',
    ]);
  });

  test('text is an ip list: it parses back to the same addresses, one line each, printable only', () => {
    const text = body('text');
    expect(parseList(text, 'ip').addresses).toEqual(ENTRIES.map((entry) => entry.address));
    expect(text).toContain('198.51.100.10  # learned-pool-ips xmr.pool.example 2026-01-02T00:00:00.000Z');
    expect(text).toMatch(/^[\x20-\x7e\n]*$/);
    expect(text.split('\n').filter((line) => line.startsWith('2001:db9::10'))).toHaveLength(1);
  });

  test('json carries list, source, names and times', () => {
    const out = formatPoolIps(ENTRIES, 'json');
    expect(out.kind).toBe('json');
    if (out.kind !== 'json') return;
    expect(out.body).toMatchObject({
      entries: expect.arrayContaining([
        {
          address: '198.51.100.10',
          family: 4,
          list: 'learned-pool-ips',
          mode: 'alert',
          source: 'learned',
          name: 'xmr.pool.example',
          names: ['eu.pool.example', 'xmr.pool.example'],
          firstSeen: '2026-01-01T00:00:00.000Z',
          lastSeen: '2026-01-02T00:00:00.000Z',
        },
      ]),
    });
  });

  test('nftables: both sets declared, flushed and refilled without overlapping elements', () => {
    const text = body('nftables');
    expect(text).toContain('table inet poolsink {');
    expect(text).toContain('add element inet poolsink pool_ips_v4 { 203.0.113.0/24, 198.51.100.10 }');
    expect(text).toContain('add element inet poolsink pool_ips_v6 { 2001:db8::/32, 2001:db9::10 }');
    expect(text.indexOf('flush set inet poolsink pool_ips_v4')).toBeLessThan(text.indexOf('add element'));
  });

  test('nftables and ipset with no entries still declare the sets', () => {
    const nft = formatPoolIps([], 'nftables');
    expect(nft.kind === 'text' && nft.body).not.toContain('add element');
    const ipset = formatPoolIps([], 'iptables');
    expect(ipset.kind === 'text' && ipset.body).toContain('swap poolsink-v4-next poolsink-v4');
  });

  test('iptables: ipset restore input, hash:net per family, filled aside and swapped in', () => {
    const lines = body('iptables').trim().split('\n');
    expect(lines[0]).toBe('create poolsink-v4 hash:net family inet maxelem 1048576 -exist');
    expect(lines).toContain('add poolsink-v4-next 203.0.113.9 -exist');
    expect(lines).toContain('add poolsink-v6-next 2001:db8::/32 -exist');
    expect(lines).toContain('swap poolsink-v6-next poolsink-v6');
    expect(lines.at(-1)).toBe('destroy poolsink-v6-next');
  });

  test.each(['drop', 'alert'] as const)(
    'suricata (%s): valid rule syntax, one egress rule per address, unique sids',
    (action) => {
      const rules = parseSuricataRules(body('suricata', action));
      expect(rules).toHaveLength(ENTRIES.length);
      expect(rules.map((rule) => rule.destination)).toEqual(ENTRIES.map((entry) => entry.address));
      for (const rule of rules) {
        expect(rule).toMatchObject({
          action,
          proto: 'ip',
          source: '$HOME_NET',
          direction: '->',
          destinationPort: 'any',
        });
      }
      expect(rules[0]?.options.get('sid')).toBe(String(SURICATA_SID_BASE));
      // The hostile name is escaped, not breaking the rule.
      expect(rules[4]?.options.get('msg')).toContain('we\\"ird');
    },
  );

  test('the suricata parser refuses broken rules (it can fail)', () => {
    expect(() => parseSuricataRules('drop ip any any -> 1.2.3.4 any (msg:"a;b"; sid:1;)')).toThrow();
    expect(() =>
      parseSuricataRules(
        'drop ip any any -> 1.2.3.4 any (msg:"a"; sid:1; rev:1;)\n' +
          'drop ip any any -> 1.2.3.5 any (msg:"b"; sid:1;)',
      ),
    ).toThrow(/repeated/);
    expect(() => parseSuricataRules('drop ip any any 1.2.3.4 any (msg:"a"; sid:1;)')).toThrow();
    expect(() => parseSuricataRules('drop ip any any -> 1.2.3.4 any (msg:"a "b""; sid:1;)')).toThrow(/quotes/);
  });
});
