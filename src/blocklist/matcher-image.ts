/**
 * A matcher as a few flat arrays, for `dns.workers` > 1: the primary builds it from its matcher
 * once per list swap, allowlist change or runtime list, and hands it to every worker through a file
 * (cluster/image-file.ts: the arrays are read in one read and viewed in place; no per-name objects
 * on either side).
 *
 * Layout: every block entry's name, latin1, back to back in `names`; entry i spans
 * `offsets[i]..offsets[i + 1]` and has the packed slots `slots[i]` (matcher.ts's SLOT_BITS layout);
 * `table` is an open-addressing hash table (linear probing, load ≤ 0.5) of entry index + 1, 0 empty.
 * A 1M-name list costs about 20 MB (names) + 8 MB (offsets, slots) + 8 MB (table) per worker,
 * against ~100 MB for the Maps of matcher.ts.
 *
 * The image matcher answers exactly as the matcher it was made from (same walk, same tie-breaks),
 * and its lookup hashes the suffix in place: no substring per label on the query path.
 */
import {
  SLOT_BITS,
  SLOT_MASK,
  allowlistMap,
  exportMatcherTables,
  findAllowlisted,
  type AllowlistedVerdict,
  type DomainMatcher,
  type ListSummary,
  type Verdict,
} from './matcher.js';

export interface MatcherImage {
  readonly names: Uint8Array;
  readonly offsets: Uint32Array;
  readonly slots: Uint32Array;
  readonly table: Uint32Array;
  readonly lists: readonly ListSummary[];
  readonly allowlist: readonly string[];
  /** DomainMatcher.size: exact names and wildcards counted apart. */
  readonly size: number;
  /** Of `size`, the entries of block lists (alert lists only report). */
  readonly blockSize: number;
}

const NO_MATCH = SLOT_MASK + 1;
const ALLOW: Verdict = Object.freeze({ kind: 'allow' });

/** FNV-1a over the char codes of text[start, end). */
function hashOf(text: string, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function tableSizeFor(entries: number): number {
  let size = 16;
  while (size < entries * 2) size *= 2;
  return size;
}

/** The image of `matcher` (built by matcher.ts); undefined for another kind of matcher. */
export function createMatcherImage(matcher: DomainMatcher): MatcherImage | undefined {
  const entries: string[] = [];
  const slotValues: number[] = [];
  let bytes = 0;
  const allowlist = exportMatcherTables(matcher, (name, slots) => {
    entries.push(name);
    slotValues.push(slots);
    bytes += name.length;
  });
  if (allowlist === undefined) return undefined;
  const names = Buffer.allocUnsafe(bytes);
  const offsets = new Uint32Array(entries.length + 1);
  const slots = Uint32Array.from(slotValues);
  const table = new Uint32Array(tableSizeFor(entries.length));
  const mask = table.length - 1;
  let at = 0;
  for (let i = 0; i < entries.length; i++) {
    const name = entries[i] ?? '';
    offsets[i] = at;
    at += names.write(name, at, 'latin1');
    let probe = hashOf(name, 0, name.length) & mask;
    while (table[probe] !== 0) probe = (probe + 1) & mask;
    table[probe] = i + 1;
  }
  offsets[entries.length] = at;
  return {
    names,
    offsets,
    slots,
    table,
    lists: matcher.lists,
    allowlist: [...allowlist],
    size: matcher.size,
    blockSize: matcher.blockSize,
  };
}

/** Bytes an image holds (what each worker pays for its lists). */
export function matcherImageBytes(image: MatcherImage): number {
  return image.names.byteLength + image.offsets.byteLength + image.slots.byteLength + image.table.byteLength;
}

class ImageMatcher implements DomainMatcher {
  readonly size: number;
  readonly blockSize: number;
  readonly lists: readonly ListSummary[];
  private readonly image: MatcherImage;
  private readonly names: Uint8Array;
  private readonly offsets: Uint32Array;
  private readonly slots: Uint32Array;
  private readonly table: Uint32Array;
  private readonly mask: number;
  private readonly allowed: ReadonlyMap<string, AllowlistedVerdict>;

  constructor(image: MatcherImage, allowed: ReadonlyMap<string, AllowlistedVerdict>) {
    this.image = image;
    this.names = image.names;
    this.offsets = image.offsets;
    this.slots = image.slots;
    this.table = image.table;
    this.mask = image.table.length - 1;
    this.size = image.size;
    this.blockSize = image.blockSize;
    this.lists = image.lists;
    this.allowed = allowed;
  }

  get allowlistSize(): number {
    return this.allowed.size;
  }

  withAllowlist(allowlist: readonly string[]): DomainMatcher {
    return new ImageMatcher(this.image, allowlistMap(allowlist));
  }

  isAllowlisted(qname: string): boolean {
    return this.allowed.size > 0 && this.findAllowlisted(qname) !== undefined;
  }

  /** The packed slots of the entry equal to text[start, end), or 0. */
  private lookup(text: string, start: number): number {
    const end = text.length;
    const length = end - start;
    const { names, offsets, table, mask } = this;
    let probe = hashOf(text, start, end) & mask;
    for (;;) {
      const slot = table[probe] ?? 0;
      if (slot === 0) return 0;
      const entry = slot - 1;
      const from = offsets[entry] ?? 0;
      if ((offsets[entry + 1] ?? 0) - from === length) {
        let i = 0;
        while (i < length && names[from + i] === text.charCodeAt(start + i)) i++;
        if (i === length) return this.slots[entry] ?? 0;
      }
      probe = (probe + 1) & mask;
    }
  }

  match(qname: string): Verdict {
    let dot = qname.indexOf('.');
    if (dot === -1) return ALLOW;
    let bestSlot = NO_MATCH;
    let bestStart = 0;
    let bestIsWildcard = false;
    const own = this.lookup(qname, 0);
    if ((own & SLOT_MASK) !== 0) bestSlot = own & SLOT_MASK;
    while (bestSlot !== 1) {
      const next = qname.indexOf('.', dot + 1);
      if (next === -1) break;
      const value = this.lookup(qname, dot + 1);
      if (value !== 0) {
        const exactSlot = value & SLOT_MASK;
        const wildcardSlot = value >>> SLOT_BITS;
        const exactWins = exactSlot !== 0 && (wildcardSlot === 0 || exactSlot <= wildcardSlot);
        const slot = exactWins ? exactSlot : wildcardSlot;
        if (slot < bestSlot) {
          bestSlot = slot;
          bestStart = dot + 1;
          bestIsWildcard = !exactWins;
        }
      }
      dot = next;
    }
    if (bestSlot === NO_MATCH) return ALLOW;
    if (this.allowed.size > 0) {
      const allowlisted = this.findAllowlisted(qname);
      if (allowlisted !== undefined) return allowlisted;
    }
    const listIndex = bestSlot - 1;
    const list = this.lists[listIndex];
    if (list === undefined) throw new Error(`matcher slot ${bestSlot} has no list`); // unreachable: slots come from list indexes
    const rule = bestStart === 0 ? qname : qname.substring(bestStart);
    return { kind: 'block', list: list.name, listIndex, mode: list.mode, rule: bestIsWildcard ? `*.${rule}` : rule };
  }

  private findAllowlisted(qname: string): AllowlistedVerdict | undefined {
    return findAllowlisted(this.allowed, qname);
  }
}

/** The allowlist entries come normalized from the matcher the image was made from. */
function allowlistOf(allowlist: readonly string[]): Map<string, AllowlistedVerdict> {
  return new Map(allowlist.map((rule) => [rule, Object.freeze({ kind: 'allowlisted' as const, rule })]));
}

/** A matcher reading `image` in place (the typed arrays are kept, not copied). */
export function matcherFromImage(image: MatcherImage): DomainMatcher {
  return new ImageMatcher(image, allowlistOf(image.allowlist));
}
