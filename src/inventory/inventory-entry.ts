/**
 * One inventory record (an address and who it is) and the checks every format's parser shares:
 * addresses canonicalized the way the DNS listeners report clients, text fields bounded and
 * stripped of control characters (they reach terminals, logs and JSON), tags bounded in number.
 */
import { isIP } from 'node:net';
import type { HostIdentity } from './host-identity.js';

export const INVENTORY_FORMATS = ['auto', 'poolsink', 'aws-ec2', 'gcp', 'azure'] as const;
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number];
export type ConcreteInventoryFormat = Exclude<InventoryFormat, 'auto'>;

export interface InventoryEntry {
  /** Canonical address: dotted IPv4, or compressed lower-case IPv6. */
  readonly ip: string;
  readonly identity: HostIdentity;
}

export interface ParsedInventory {
  readonly format: ConcreteInventoryFormat;
  readonly entries: readonly InventoryEntry[];
  /** Records or addresses that were not usable (no address, not an IP), counted. */
  readonly skipped: number;
}

export const MAX_TEXT_CHARS = 256;
export const MAX_TAGS = 64;

// C0, DEL and C1 controls, and the bidi overrides that reorder what a terminal shows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** A text field as shown to people: trimmed, controls replaced, at most MAX_TEXT_CHARS; undefined when empty or not text. */
export function cleanText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const text = value.replace(UNSAFE_CHARS, '\ufffd').trim();
  if (text === '') return undefined;
  return text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text;
}

/** The canonical form of an IP literal, or undefined when `value` is not one. */
export function canonicalIp(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const version = isIP(text);
  if (version === 4) return text;
  if (version !== 6) return undefined;
  // The WHATWG URL parser prints IPv6 the way Node reports a client address (RFC 5952).
  const compressed = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  // An IPv4-mapped address, as a dual-stack socket reports it: ::ffff:10.0.0.1.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped === null) return compressed;
  const high = Number.parseInt(mapped[1] ?? '0', 16);
  const low = Number.parseInt(mapped[2] ?? '0', 16);
  return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** Tags from (key, value) pairs: cleaned, at most MAX_TAGS, keys without a value kept as "". */
export function cleanTags(pairs: Iterable<readonly [unknown, unknown]>): Record<string, string> | undefined {
  const tags: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of pairs) {
    if (count >= MAX_TAGS) break;
    const k = cleanText(key);
    if (k === undefined || Object.hasOwn(tags, k)) continue;
    tags[k] = cleanText(value) ?? '';
    count += 1;
  }
  return count === 0 ? undefined : tags;
}

export interface IdentityFields {
  readonly name?: unknown;
  readonly instanceId?: unknown;
  readonly account?: unknown;
  readonly region?: unknown;
  readonly tags?: Record<string, string> | undefined;
}

/** An inventory identity with only the fields that hold text. */
export function inventoryIdentity(fields: IdentityFields): HostIdentity {
  const name = cleanText(fields.name);
  const instanceId = cleanText(fields.instanceId);
  const account = cleanText(fields.account);
  const region = cleanText(fields.region);
  return {
    source: 'inventory',
    ...(name !== undefined ? { name } : {}),
    ...(instanceId !== undefined ? { instanceId } : {}),
    ...(account !== undefined ? { account } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(fields.tags !== undefined ? { tags: fields.tags } : {}),
  };
}

export interface EntryCollector {
  readonly entries: InventoryEntry[];
  /** Records without a usable address, plus addresses that are not IPs. */
  skipped: number;
  /** Adds one record's addresses (empty and missing ones ignored; a record with none counts as skipped). */
  add(addresses: readonly unknown[], identity: HostIdentity): void;
}

export function createEntryCollector(): EntryCollector {
  const collector: EntryCollector = {
    entries: [],
    skipped: 0,
    add(addresses, identity) {
      const seen = new Set<string>();
      let present = 0;
      for (const address of addresses) {
        if (address === undefined || address === null || address === '') continue;
        present += 1;
        const ip = canonicalIp(address);
        if (ip === undefined) collector.skipped += 1;
        else if (!seen.has(ip)) {
          seen.add(ip);
          collector.entries.push({ ip, identity });
        }
      }
      if (present === 0) collector.skipped += 1;
    },
  };
  return collector;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function arrayOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
