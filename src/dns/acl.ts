/**
 * The client ACL: which source addresses may use the resolver. Checked for every query, so the
 * verdict for an address is memoised (a subnet has a bounded set of hosts; the memo is reset when
 * it grows past its cap, so a spoofed-source flood cannot grow memory).
 */
import { ipToBigInt, type Cidr } from '../net/address.js';

const MEMO_MAX = 65_536;
const V4_MAPPED_PREFIX = '::ffff:';

export interface ClientAcl {
  allows(address: string): boolean;
  /** Swaps in new networks (a configuration reload); the next check uses them. */
  replace(cidrs: readonly Cidr[]): void;
}

export function createClientAcl(cidrs: readonly Cidr[]): ClientAcl {
  let v4 = cidrs.filter((c) => c.family === 4);
  let v6 = cidrs.filter((c) => c.family === 6);
  const memo = new Map<string, boolean>();

  function decide(address: string): boolean {
    let text = address;
    let family: 4 | 6 = text.includes(':') ? 6 : 4;
    if (family === 6 && text.toLowerCase().startsWith(V4_MAPPED_PREFIX) && text.includes('.')) {
      text = text.slice(V4_MAPPED_PREFIX.length);
      family = 4;
    }
    const value = ipToBigInt(text);
    if (value === undefined) return false;
    const ranges = family === 4 ? v4 : v6;
    const bits = family === 4 ? 32n : 128n;
    for (const range of ranges) {
      const hostBits = bits - BigInt(range.prefix);
      if (value >> hostBits === range.network >> hostBits) return true;
    }
    return false;
  }

  return {
    allows(address: string): boolean {
      const known = memo.get(address);
      if (known !== undefined) return known;
      const verdict = decide(address);
      if (memo.size >= MEMO_MAX) memo.clear();
      memo.set(address, verdict);
      return verdict;
    },
    replace(next) {
      v4 = next.filter((c) => c.family === 4);
      v6 = next.filter((c) => c.family === 6);
      memo.clear();
    },
  };
}
