/**
 * Domain → verdict, on every query. All blocklists merge into one table from name to a small
 * integer; the allowlist is a Map. A lookup walks the query's label suffixes with indexOf('.'),
 * one Map.get per suffix, and allocates only the verdict of a block.
 *
 * The table is BLOCKED_SHARDS Maps, a name's Map picked from its length and three characters.
 * A Map grows by rehashing every entry at once: one Map of 1M names stalls the event loop for
 * ~50 ms at its 524,288th insert; 32 shards of ~30k each rehash in ~2 ms. With
 * createMatcherBuilder the lists can be merged a slice at a time between other work.
 */
import { PoolsinkError } from '../errors.js';
import { normalizeDomain } from '../net/domain-name.js';

export interface ListInput {
  name: string;
  /** `alert` lists report matches without blocking; default `block`. */
  mode?: 'block' | 'alert';
  /**
   * Names as parseList or normalizeDomain return them (lower case, no trailing dot, two labels or
   * more); each blocks itself and its subdomains. Other strings never match.
   */
  domains: readonly string[];
  /** Names from `*.name` entries, without the `*.`; each blocks subdomains of name only. */
  wildcards: readonly string[];
}

export type Verdict =
  /** No list matched. Always the same frozen object. */
  | { readonly kind: 'allow' }
  /** A list matched but the allowlist entry `rule` (the name or a parent of it) overrides it. */
  | { readonly kind: 'allowlisted'; readonly rule: string }
  /** `rule` is the matching entry as written in the list: `pool.com` or `*.pool.com`. */
  | {
      readonly kind: 'block';
      readonly list: string;
      readonly listIndex: number;
      readonly mode: 'block' | 'alert';
      readonly rule: string;
    };

export interface ListSummary {
  readonly name: string;
  readonly mode: 'block' | 'alert';
  /** Distinct entries (names plus wildcards) this list contributed, counting those another list also has. */
  readonly entries: number;
}

export interface DomainMatcher {
  /**
   * `qname` is lower case without a trailing dot; `''` is the root and never blocked. When rules
   * from several lists match (the name itself or any parent), the first list in config order wins;
   * within that list the most specific rule is reported, and an exact entry beats a wildcard for
   * the same name. The allowlist wins over every list.
   */
  match(qname: string): Verdict;
  /** Whether the allowlist covers `qname` (itself or a parent), whether or not a list has it. */
  isAllowlisted(qname: string): boolean;
  /** Distinct block entries over all lists (`pool.com` and `*.pool.com` are two). */
  readonly size: number;
  /** Of `size`, the entries owned by `block` lists: what is actually blocked (alert lists only report). */
  readonly blockSize: number;
  readonly lists: readonly ListSummary[];
  readonly allowlistSize: number;
  /**
   * The same lists with another allowlist, sharing this matcher's tables: costs time in the size of
   * the allowlist only. Throws ERR_CONFIG_INVALID as createMatcher does.
   */
  withAllowlist(allowlist: readonly string[]): DomainMatcher;
}

/**
 * A Map value holds two slots of SLOT_BITS each: the low one is 1 + the index of the first list
 * with the exact name, the high one the same for the wildcard; 0 means none. Both slots together
 * stay below 2^30, a V8 small integer on every platform, so the Map stores no heap numbers.
 */
export const SLOT_BITS = 15;
export const SLOT_MASK = (1 << SLOT_BITS) - 1;
const MAX_LISTS = SLOT_MASK;
const NO_MATCH = SLOT_MASK + 1;

const ALLOW: Verdict = Object.freeze({ kind: 'allow' });

export type AllowlistedVerdict = Extract<Verdict, { kind: 'allowlisted' }>;

/** A power of two. */
const BLOCKED_SHARDS = 32;

/**
 * The shard of `name`: cheap (no loop, one pass over nothing) and spread over real lists (which
 * differ in their first labels) and synthetic ones (`pool-123456.x.test`: the digits at 5 and 6).
 * charCodeAt past the end is NaN, which `| 0` makes 0.
 */
function shardOf(name: string): number {
  return (
    (((name.charCodeAt(0) * 31 + (name.charCodeAt(5) | 0)) * 31 + (name.charCodeAt(6) | 0)) ^ name.length) &
    (BLOCKED_SHARDS - 1)
  );
}

/** Name → value over BLOCKED_SHARDS Maps; read by every query, so get() is all the hot path sees. */
class ShardedMap<V> {
  private readonly shards: Map<string, V>[] = [];

  constructor() {
    for (let i = 0; i < BLOCKED_SHARDS; i++) this.shards.push(new Map());
  }

  get(name: string): V | undefined {
    return this.shards[shardOf(name)]?.get(name);
  }

  set(name: string, value: V): void {
    this.shards[shardOf(name)]?.set(name, value);
  }

  has(name: string): boolean {
    return this.shards[shardOf(name)]?.has(name) === true;
  }

  clear(): void {
    for (const shard of this.shards) shard.clear();
  }

  forEach(visit: (value: V, name: string) => void): void {
    for (const shard of this.shards) shard.forEach(visit);
  }
}

/** Normalized allowlist name → its verdict; throws ERR_CONFIG_INVALID for a non-name. */
export function allowlistMap(allowlist: readonly string[]): Map<string, AllowlistedVerdict> {
  const allowed = new Map<string, AllowlistedVerdict>();
  for (const entry of allowlist) {
    const name = normalizeDomain(entry);
    if (name === undefined) {
      throw new PoolsinkError('ERR_CONFIG_INVALID', `allowlist: ${JSON.stringify(entry)} is not a domain name`);
    }
    allowed.set(name, Object.freeze({ kind: 'allowlisted', rule: name }));
  }
  return allowed;
}

class SuffixMatcher implements DomainMatcher {
  readonly size: number;
  readonly blockSize: number;
  readonly lists: readonly ListSummary[];
  private readonly blocked: ShardedMap<number>;
  /** Allowlisted name → its verdict, built once so an allowlisted query allocates nothing. */
  private readonly allowed: ReadonlyMap<string, AllowlistedVerdict>;

  constructor(
    blocked: ShardedMap<number>,
    size: number,
    blockSize: number,
    lists: readonly ListSummary[],
    allowed: ReadonlyMap<string, AllowlistedVerdict>,
  ) {
    this.blocked = blocked;
    this.size = size;
    this.blockSize = blockSize;
    this.lists = lists;
    this.allowed = allowed;
  }

  get allowlistSize(): number {
    return this.allowed.size;
  }

  /** Every block entry with its packed slots, and the allowlist (matcher-image.ts serialises these). */
  exportTables(visit: (name: string, slots: number) => void): readonly string[] {
    this.blocked.forEach((slots, name) => {
      visit(name, slots);
    });
    return [...this.allowed.keys()];
  }

  withAllowlist(allowlist: readonly string[]): DomainMatcher {
    return new SuffixMatcher(this.blocked, this.size, this.blockSize, this.lists, allowlistMap(allowlist));
  }

  isAllowlisted(qname: string): boolean {
    return this.allowed.size > 0 && this.findAllowlisted(qname) !== undefined;
  }

  match(qname: string): Verdict {
    let dot = qname.indexOf('.');
    // Every entry has at least two labels, so a single-label name (or the root) never matches.
    if (dot === -1) return ALLOW;
    let bestSlot = NO_MATCH;
    let bestRule = '';
    let bestIsWildcard = false;

    const own = this.blocked.get(qname);
    if (own !== undefined && (own & SLOT_MASK) !== 0) {
      bestSlot = own & SLOT_MASK;
      bestRule = qname;
    }
    while (bestSlot !== 1) {
      const next = qname.indexOf('.', dot + 1);
      if (next === -1) break; // the rest is a top-level label alone: never an entry
      const suffix = qname.substring(dot + 1);
      const value = this.blocked.get(suffix);
      if (value !== undefined) {
        const exactSlot = value & SLOT_MASK;
        const wildcardSlot = value >>> SLOT_BITS;
        const exactWins = exactSlot !== 0 && (wildcardSlot === 0 || exactSlot <= wildcardSlot);
        const slot = exactWins ? exactSlot : wildcardSlot;
        if (slot < bestSlot) {
          bestSlot = slot;
          bestRule = suffix;
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
    return {
      kind: 'block',
      list: list.name,
      listIndex,
      mode: list.mode,
      rule: bestIsWildcard ? `*.${bestRule}` : bestRule,
    };
  }

  private findAllowlisted(qname: string): AllowlistedVerdict | undefined {
    return findAllowlisted(this.allowed, qname);
  }
}

/** The most specific allowlist entry equal to qname or a parent of it (both matchers use it). */
export function findAllowlisted(
  allowed: ReadonlyMap<string, AllowlistedVerdict>,
  qname: string,
): AllowlistedVerdict | undefined {
  const own = allowed.get(qname);
  if (own !== undefined) return own;
  let dot = qname.indexOf('.');
  let next = qname.indexOf('.', dot + 1);
  while (next !== -1) {
    const verdict = allowed.get(qname.substring(dot + 1));
    if (verdict !== undefined) return verdict;
    dot = next;
    next = qname.indexOf('.', dot + 1);
  }
  return undefined;
}

/**
 * Visits every block entry of `matcher` (name and packed slots, see SLOT_BITS) and returns its
 * allowlist; undefined for a matcher this module did not build.
 */
export function exportMatcherTables(
  matcher: DomainMatcher,
  visit: (name: string, slots: number) => void,
): readonly string[] | undefined {
  return matcher instanceof SuffixMatcher ? matcher.exportTables(visit) : undefined;
}

/** One of the two slots (exact or wildcard) being filled while the lists are merged. */
interface SlotWriter {
  readonly shift: number;
  /** Names whose slot an earlier list holds and this list has already counted; cleared per list. */
  readonly counted: ShardedMap<true>;
}

/**
 * Records that list `listIndex` has `name` in the writer's slot. `new`: no list had it; `new-in-list`:
 * an earlier list owns it but this list counts it once; `duplicate`: this list already had it.
 */
function addEntry(
  blocked: ShardedMap<number>,
  name: string,
  listIndex: number,
  writer: SlotWriter,
): 'new' | 'new-in-list' | 'duplicate' {
  const slotValue = listIndex + 1;
  const value = blocked.get(name) ?? 0;
  const slot = (value >>> writer.shift) & SLOT_MASK;
  if (slot === 0) {
    blocked.set(name, value | (slotValue << writer.shift));
    return 'new';
  }
  if (slot === slotValue || writer.counted.has(name)) return 'duplicate';
  writer.counted.set(name, true);
  return 'new-in-list';
}

/**
 * Merges lists into a matcher a piece at a time, so a caller can yield between pieces: start a
 * list, add its names in as many calls as it likes, start the next (config order matters: the
 * first list to have a name owns it), then finish with the allowlist. A builder makes one matcher.
 */
export interface MatcherBuilder {
  /** Entries added from now on belong to this list. Throws ERR_CONFIG_INVALID past 32,767 lists. */
  startList(name: string, mode?: 'block' | 'alert'): void;
  /** Adds `names[from, to)` of the current list as exact entries (each blocks itself and its subdomains). */
  addDomains(names: readonly string[], from: number, to: number): void;
  /** Adds `names[from, to)` of the current list as wildcards (each blocks subdomains of the name only). */
  addWildcards(names: readonly string[], from: number, to: number): void;
  /** Throws ERR_CONFIG_INVALID for an allowlist entry that is not a domain name. */
  finish(allowlist: readonly string[]): DomainMatcher;
}

export function createMatcherBuilder(): MatcherBuilder {
  const blocked = new ShardedMap<number>();
  const exactWriter: SlotWriter = { shift: 0, counted: new ShardedMap() };
  const wildcardWriter: SlotWriter = { shift: SLOT_BITS, counted: new ShardedMap() };
  const summaries: ListSummary[] = [];
  let size = 0;
  let blockSize = 0;
  let current: { name: string; mode: 'block' | 'alert'; entries: number } | undefined;
  let finished = false;

  function closeList(): void {
    if (current !== undefined)
      summaries.push(Object.freeze({ name: current.name, mode: current.mode, entries: current.entries }));
    current = undefined;
  }

  function add(names: readonly string[], from: number, to: number, writer: SlotWriter): void {
    if (current === undefined || finished) throw new Error('MatcherBuilder: startList() first, and not after finish()');
    const listIndex = summaries.length;
    for (let i = from; i < to; i++) {
      const name = names[i];
      if (name === undefined) continue; // past the end of names: nothing to add
      const added = addEntry(blocked, name, listIndex, writer);
      if (added !== 'duplicate') current.entries++;
      if (added === 'new') {
        size++;
        if (current.mode === 'block') blockSize++;
      }
    }
  }

  return {
    startList(name, mode = 'block') {
      if (finished) throw new Error('MatcherBuilder: startList() after finish()');
      closeList();
      if (summaries.length >= MAX_LISTS) {
        throw new PoolsinkError('ERR_CONFIG_INVALID', `blocklists: at most ${MAX_LISTS} lists are supported, got more`);
      }
      exactWriter.counted.clear();
      wildcardWriter.counted.clear();
      current = { name, mode, entries: 0 };
    },
    addDomains(names, from, to) {
      add(names, from, to, exactWriter);
    },
    addWildcards(names, from, to) {
      add(names, from, to, wildcardWriter);
    },
    finish(allowlist) {
      if (finished) throw new Error('MatcherBuilder: finish() called twice');
      const allowed = allowlistMap(allowlist);
      closeList();
      finished = true;
      exactWriter.counted.clear();
      wildcardWriter.counted.clear();
      return new SuffixMatcher(blocked, size, blockSize, Object.freeze(summaries), allowed);
    },
  };
}

/**
 * Merges the lists (config order matters: the first list to have a name owns it) and the
 * allowlist into one matcher, all at once. Throws ERR_CONFIG_INVALID for more than 32,767 lists
 * or an allowlist entry that is not a domain name.
 */
export function createMatcher(lists: readonly ListInput[], allowlist: readonly string[]): DomainMatcher {
  if (lists.length > MAX_LISTS) {
    throw new PoolsinkError(
      'ERR_CONFIG_INVALID',
      `blocklists: at most ${MAX_LISTS} lists are supported, got ${lists.length}`,
    );
  }
  const builder = createMatcherBuilder();
  for (const list of lists) {
    builder.startList(list.name, list.mode ?? 'block');
    builder.addDomains(list.domains, 0, list.domains.length);
    builder.addWildcards(list.wildcards, 0, list.wildcards.length);
  }
  return builder.finish(allowlist);
}
