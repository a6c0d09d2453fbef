/**
 * A set of IPv4 and IPv6 networks, each with a small integer tag, asked "which tag covers this
 * address?" for every A/AAAA record of a forwarded answer. Per prefix length in use, the networks
 * are a sorted typed array searched by bisection: a lookup costs (prefix lengths in use) × log(n)
 * and allocates nothing (it reads the address straight from the DNS message's bytes).
 *
 * When several networks cover an address, the lowest tag wins: tags are given in list order, so the
 * first list reports it, as with names (blocklist/matcher.ts).
 */
import { ipToBytes } from './address.js';
import type { CidrBytes } from './cidr-text.js';

export interface IpSet {
  /** The tag of the address at `bytes[offset, offset + 4)`, or -1. */
  matchV4(bytes: Uint8Array, offset: number): number;
  /** The tag of the address at `bytes[offset, offset + 16)`, or -1. */
  matchV6(bytes: Uint8Array, offset: number): number;
  /** The tag of an address written as text, or -1 (also for text that is not an address). */
  matchText(address: string): number;
  /** Distinct networks. */
  readonly size: number;
}

export interface IpSetBuilder {
  /** Adds a network; a network already added keeps its first tag. */
  add(cidr: Pick<CidrBytes, 'family' | 'bytes' | 'prefix'>, tag: number): void;
  build(): IpSet;
}

/** Networks of one prefix length, sorted: `words` holds 1 (v4) or 4 (v6) 32-bit words per network. */
interface PrefixTable {
  readonly prefix: number;
  readonly words: Uint32Array;
  readonly tags: Int32Array;
  readonly count: number;
  /** The prefix's mask over each of the 4 words (v4 uses the first). */
  readonly masks: Uint32Array;
}

function word(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function masksFor(prefix: number): Uint32Array {
  const masks = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(32, prefix - i * 32));
    masks[i] = keep === 0 ? 0 : (0xffffffff << (32 - keep)) >>> 0;
  }
  return masks;
}

function buildTables(
  entries: Map<string, { words: number[]; prefix: number; tag: number }>,
  width: number,
): PrefixTable[] {
  const byPrefix = new Map<number, { words: number[]; tag: number }[]>();
  for (const entry of entries.values()) {
    let group = byPrefix.get(entry.prefix);
    if (group === undefined) {
      group = [];
      byPrefix.set(entry.prefix, group);
    }
    group.push(entry);
  }
  const tables: PrefixTable[] = [];
  for (const [prefix, group] of byPrefix) {
    group.sort((a, b) => {
      for (let i = 0; i < width; i++) {
        const d = (a.words[i] ?? 0) - (b.words[i] ?? 0);
        if (d !== 0) return d;
      }
      return 0;
    });
    const words = new Uint32Array(group.length * width);
    const tags = new Int32Array(group.length);
    group.forEach((entry, index) => {
      for (let i = 0; i < width; i++) words[index * width + i] = entry.words[i] ?? 0;
      tags[index] = entry.tag;
    });
    tables.push({ prefix, words, tags, count: group.length, masks: masksFor(prefix) });
  }
  // Longest prefix first: a lookup may stop early only on tag 0, so the order is for locality.
  return tables.sort((a, b) => b.prefix - a.prefix);
}

class PrefixIpSet implements IpSet {
  readonly size: number;
  private readonly v4: readonly PrefixTable[];
  private readonly v6: readonly PrefixTable[];

  constructor(v4: readonly PrefixTable[], v6: readonly PrefixTable[], size: number) {
    this.v4 = v4;
    this.v6 = v6;
    this.size = size;
  }

  matchV4(bytes: Uint8Array, offset: number): number {
    const address = word(bytes, offset);
    let best = -1;
    for (let t = 0; t < this.v4.length; t++) {
      const table = this.v4[t]!;
      const key = (address & table.masks[0]!) >>> 0;
      const words = table.words;
      let low = 0;
      let high = table.count - 1;
      while (low <= high) {
        const mid = (low + high) >>> 1;
        const value = words[mid]!;
        if (value < key) low = mid + 1;
        else if (value > key) high = mid - 1;
        else {
          const tag = table.tags[mid]!;
          if (best < 0 || tag < best) best = tag;
          break;
        }
      }
      if (best === 0) return 0;
    }
    return best;
  }

  matchV6(bytes: Uint8Array, offset: number): number {
    const w0 = word(bytes, offset);
    const w1 = word(bytes, offset + 4);
    const w2 = word(bytes, offset + 8);
    const w3 = word(bytes, offset + 12);
    let best = -1;
    for (let t = 0; t < this.v6.length; t++) {
      const table = this.v6[t]!;
      const m = table.masks;
      const k0 = (w0 & m[0]!) >>> 0;
      const k1 = (w1 & m[1]!) >>> 0;
      const k2 = (w2 & m[2]!) >>> 0;
      const k3 = (w3 & m[3]!) >>> 0;
      const words = table.words;
      let low = 0;
      let high = table.count - 1;
      while (low <= high) {
        const mid = (low + high) >>> 1;
        const at = mid * 4;
        let cmp = words[at]! - k0;
        if (cmp === 0) cmp = words[at + 1]! - k1;
        if (cmp === 0) cmp = words[at + 2]! - k2;
        if (cmp === 0) cmp = words[at + 3]! - k3;
        if (cmp < 0) low = mid + 1;
        else if (cmp > 0) high = mid - 1;
        else {
          const tag = table.tags[mid]!;
          if (best < 0 || tag < best) best = tag;
          break;
        }
      }
      if (best === 0) return 0;
    }
    return best;
  }

  matchText(address: string): number {
    const bytes = ipToBytes(address);
    if (bytes === undefined) return -1;
    return bytes.length === 4 ? this.matchV4(bytes, 0) : this.matchV6(bytes, 0);
  }
}

export function createIpSetBuilder(): IpSetBuilder {
  const v4 = new Map<string, { words: number[]; prefix: number; tag: number }>();
  const v6 = new Map<string, { words: number[]; prefix: number; tag: number }>();
  return {
    add(cidr, tag) {
      const table = cidr.family === 4 ? v4 : v6;
      const masks = masksFor(cidr.prefix);
      const words: number[] = [];
      for (let at = 0; at < cidr.bytes.length; at += 4) words.push((word(cidr.bytes, at) & masks[at / 4]!) >>> 0);
      const key = `${words.join(',')}/${cidr.prefix}`;
      if (!table.has(key)) table.set(key, { words, prefix: cidr.prefix, tag });
    },
    build() {
      return new PrefixIpSet(buildTables(v4, 1), buildTables(v6, 4), v4.size + v6.size);
    },
  };
}

/** A set with no networks. */
export const EMPTY_IP_SET: IpSet = createIpSetBuilder().build();
