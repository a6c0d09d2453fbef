/**
 * The pool IP feed in the formats egress firewalls read, each a complete file to load as a whole:
 *
 * - text: one address or CIDR a line with `# list name last-seen` after it; itself an `ip` list.
 * - json: the entries with their list, mode, source and the names they were learned from.
 * - nftables: `table inet poolsink` with interval sets pool_ips_v4 / pool_ips_v6, flushed and
 *   refilled in one `nft -f` transaction, so rules the operator added to the table stay.
 * - iptables: `ipset restore` input: hash:net sets poolsink-v4 / poolsink-v6, filled as
 *   `*-next` sets and swapped in atomically (for `iptables -m set --match-set poolsink-v4 dst`).
 * - suricata: one rule per address (`drop` or `alert`, egress from $HOME_NET), sids from
 *   SURICATA_SID_BASE on: usable as AWS Network Firewall stateful rules.
 *
 * Names may hold any byte: they appear only in comments and rule messages, in presentation form
 * (net/presentation.ts) and escaped for the target syntax.
 */
import { presentName } from '../net/presentation.js';
import { parseCidrText } from '../net/cidr-text.js';
import { createIpSetBuilder } from '../net/ip-set.js';
import type { PoolIpEntry } from './feed.js';

export const POOL_IP_FORMATS = ['text', 'json', 'nftables', 'iptables', 'suricata'] as const;
export type PoolIpFormat = (typeof POOL_IP_FORMATS)[number];

/** The first sid: 1,000,000–1,999,999 is the range Suricata leaves to local rules. */
export const SURICATA_SID_BASE = 1_900_000;
/** The ipset sets' capacity: fixed, so `create -exist` always finds the same set. */
export const IPSET_MAX_ELEMENTS = 1_048_576;

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** Printable ASCII only: presentName's escapes for names, and no control characters in other text. */
function safeText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function describe(entry: PoolIpEntry): string {
  const parts = [entry.list];
  if (entry.name !== undefined) parts.push(presentName(entry.name));
  if (entry.lastSeenMs !== undefined) parts.push(new Date(entry.lastSeenMs).toISOString());
  return safeText(parts.join(' '));
}

/**
 * The entries no other entry covers, in their order: an interval set (nftables) refuses overlapping elements, and
 * a covered address adds nothing to a firewall rule.
 */
export function withoutCovered(entries: readonly PoolIpEntry[]): PoolIpEntry[] {
  const parsed = entries.flatMap((entry) => {
    const cidr = parseCidrText(entry.address);
    return cidr === undefined ? [] : [{ entry, cidr }];
  });
  const prefixes = [...new Set(parsed.map((item) => item.cidr.prefix))].sort((a, b) => a - b);
  const kept = new Set<PoolIpEntry>();
  const broader = createIpSetBuilder();
  for (const prefix of prefixes) {
    const covering = broader.build();
    for (const item of parsed) {
      if (item.cidr.prefix !== prefix) continue;
      const { bytes } = item.cidr;
      const covered = bytes.length === 4 ? covering.matchV4(bytes, 0) : covering.matchV6(bytes, 0);
      if (covered >= 0) continue;
      kept.add(item.entry);
    }
    for (const item of parsed) if (item.cidr.prefix === prefix) broader.add(item.cidr, 0);
  }
  return entries.filter((entry) => kept.has(entry));
}

function text(entries: readonly PoolIpEntry[]): string {
  const lines = [`# poolsink pool IPs: ${entries.length} entries (format: ip)`];
  for (const entry of entries) lines.push(`${entry.address}  # ${describe(entry)}`);
  return `${lines.join('\n')}\n`;
}

function jsonBody(entries: readonly PoolIpEntry[]): unknown {
  return {
    entries: entries.map((entry) => ({
      address: entry.address,
      family: entry.family,
      list: entry.list,
      mode: entry.mode,
      source: entry.source,
      name: entry.name ?? null,
      names: entry.names ?? [],
      firstSeen: isoOrNull(entry.firstSeenMs),
      lastSeen: isoOrNull(entry.lastSeenMs),
    })),
  };
}

function nftElements(entries: readonly PoolIpEntry[]): string {
  return entries.map((entry) => entry.address).join(', ');
}

function nftables(all: readonly PoolIpEntry[]): string {
  const entries = withoutCovered(all);
  const v4 = entries.filter((entry) => entry.family === 4);
  const v6 = entries.filter((entry) => entry.family === 6);
  const lines = [
    `# poolsink pool IPs: ${v4.length} IPv4 and ${v6.length} IPv6 entries. Load with: nft -f FILE`,
    '# Then, once: nft add chain inet poolsink egress "{ type filter hook forward priority 0; }"',
    '#             nft add rule inet poolsink egress ip daddr @pool_ips_v4 counter drop',
    '#             nft add rule inet poolsink egress ip6 daddr @pool_ips_v6 counter drop',
    'table inet poolsink {',
    '\tset pool_ips_v4 {',
    '\t\ttype ipv4_addr',
    '\t\tflags interval',
    '\t}',
    '\tset pool_ips_v6 {',
    '\t\ttype ipv6_addr',
    '\t\tflags interval',
    '\t}',
    '}',
    'flush set inet poolsink pool_ips_v4',
    'flush set inet poolsink pool_ips_v6',
  ];
  if (v4.length > 0) lines.push(`add element inet poolsink pool_ips_v4 { ${nftElements(v4)} }`);
  if (v6.length > 0) lines.push(`add element inet poolsink pool_ips_v6 { ${nftElements(v6)} }`);
  return `${lines.join('\n')}\n`;
}

function ipset(all: readonly PoolIpEntry[]): string {
  const lines: string[] = [];
  for (const [family, set, inet] of [
    [4, 'poolsink-v4', 'inet'],
    [6, 'poolsink-v6', 'inet6'],
  ] as const) {
    const options = `hash:net family ${inet} maxelem ${IPSET_MAX_ELEMENTS}`;
    lines.push(`create ${set} ${options} -exist`, `create ${set}-next ${options} -exist`, `flush ${set}-next`);
    for (const entry of all) {
      // hash:net takes prefixes 1 to 32 (128); a /0 is no pool address.
      if (entry.family !== family || entry.address.endsWith('/0')) continue;
      lines.push(`add ${set}-next ${entry.address} -exist`);
    }
    lines.push(`swap ${set}-next ${set}`, `destroy ${set}-next`);
  }
  return `${lines.join('\n')}\n`;
}

/** A Suricata rule option value: `\`, `"` and `;` escaped, printable ASCII only. */
function suricataEscape(value: string): string {
  return safeText(value).replace(/[\\";]/g, (c) => `\\${c}`);
}

function suricata(entries: readonly PoolIpEntry[], action: 'drop' | 'alert'): string {
  const lines = [`# poolsink pool IPs: ${entries.length} ${action} rules, sids from ${SURICATA_SID_BASE}`];
  entries.forEach((entry, index) => {
    const msg = suricataEscape(`poolsink mining pool address ${entry.address} (${describe(entry)})`);
    lines.push(
      `${action} ip $HOME_NET any -> ${entry.address} any (msg:"${msg}"; sid:${SURICATA_SID_BASE + index}; rev:1;)`,
    );
  });
  return `${lines.join('\n')}\n`;
}

export type FormattedFeed =
  | { readonly kind: 'json'; readonly body: unknown }
  | { readonly kind: 'text'; readonly contentType: string; readonly body: string };

export function formatPoolIps(
  entries: readonly PoolIpEntry[],
  format: PoolIpFormat,
  options: { readonly action?: 'drop' | 'alert' } = {},
): FormattedFeed {
  const plain = 'text/plain; charset=utf-8';
  switch (format) {
    case 'json':
      return { kind: 'json', body: jsonBody(entries) };
    case 'text':
      return { kind: 'text', contentType: plain, body: text(entries) };
    case 'nftables':
      return { kind: 'text', contentType: plain, body: nftables(entries) };
    case 'iptables':
      return { kind: 'text', contentType: plain, body: ipset(entries) };
    case 'suricata':
      return { kind: 'text', contentType: plain, body: suricata(entries, options.action ?? 'drop') };
  }
}
