/**
 * The addresses that forwarded answers are checked against (response-IP blocking): every `ip`
 * list's entries plus the learned pool addresses, merged into one IpSet (net/ip-set.ts). A tag is
 * an entry's position; entries are added in list order, so the first list with an address (or a
 * network covering it) reports it. Built off the query path whenever the lists or the learned set
 * change; looked up for each A/AAAA record of a forwarded answer.
 */
import { parseCidrText } from '../net/cidr-text.js';
import { EMPTY_IP_SET, createIpSetBuilder, type IpSet } from '../net/ip-set.js';
import type { Verdict } from './matcher.js';

export interface IpListInput {
  readonly name: string;
  readonly mode: 'block' | 'alert';
  /** Canonical addresses and CIDRs (net/cidr-text.ts); others are ignored. */
  readonly cidrs: readonly string[];
}

export type IpBlockVerdict = Extract<Verdict, { kind: 'block' }>;

export interface IpBlocklist {
  readonly set: IpSet;
  /** The verdict of a tag the set returned (the list, its mode, the entry as written). */
  verdictOf(tag: number): IpBlockVerdict | undefined;
  /** Distinct networks over all lists. */
  readonly size: number;
  readonly lists: readonly { readonly name: string; readonly mode: 'block' | 'alert'; readonly entries: number }[];
}

export const EMPTY_IP_BLOCKLIST: IpBlocklist = Object.freeze({
  set: EMPTY_IP_SET,
  verdictOf: () => undefined,
  size: 0,
  lists: [],
});

export function createIpBlocklist(lists: readonly IpListInput[]): IpBlocklist {
  const builder = createIpSetBuilder();
  const verdicts: IpBlockVerdict[] = [];
  const summaries: { name: string; mode: 'block' | 'alert'; entries: number }[] = [];
  lists.forEach((list, listIndex) => {
    let entries = 0;
    for (const text of list.cidrs) {
      const cidr = parseCidrText(text);
      if (cidr === undefined) continue;
      builder.add(cidr, verdicts.length);
      verdicts.push(Object.freeze({ kind: 'block', list: list.name, listIndex, mode: list.mode, rule: cidr.text }));
      entries++;
    }
    summaries.push(Object.freeze({ name: list.name, mode: list.mode, entries }));
  });
  const set = builder.build();
  return Object.freeze({
    set,
    verdictOf: (tag: number) => verdicts[tag],
    size: set.size,
    lists: Object.freeze(summaries),
  });
}
