/**
 * The heavy work of an update, done in time slices so DNS answers keep flowing: hashing and
 * parsing a list's bytes, and merging every list into a new matcher. Each step runs for at most
 * about `sliceMs`, then yields to the event loop with setImmediate (pending queries are answered
 * in between), then goes on. The caller swaps the finished matcher in with one assignment, so a
 * query sees the old lists or the new ones, never a mix.
 */
import { createHash } from 'node:crypto';
import { detectFormat, parseList, type ListFormat, type ListFormatOption, type ParsedList } from './parse.js';
import { createMatcherBuilder, type DomainMatcher } from './matcher.js';

/** Default time a slice may run before yielding. */
export const DEFAULT_SLICE_MS = 5;

/**
 * Bytes of list text parsed per parseList call: about 5,000 lines, a few ms. Above V8's largest
 * regular object (128 KiB), so each slice's text is allocated straight in the large-object space
 * and the young-generation GC never copies it (the names parsed from it are slices of it); with
 * 64 KiB slices the texts were copied twice each and minor GC pauses grew by about half.
 */
const PARSE_SLICE_BYTES = 160 * 1024;
/** Bytes hashed per update call: about a millisecond. */
const HASH_SLICE_BYTES = 512 * 1024;
/** Text sampled for format detection (detectFormat votes over its first 500 non-comment lines). */
const DETECT_SAMPLE_BYTES = 1024 * 1024;
/** Names merged between two looks at the clock: well under a millisecond. */
const NAMES_PER_CHECK = 1024;
const NEWLINE = 0x0a;

/** Keeps track of one slice's time and yields when it is spent; also records the longest slice. */
export interface Slicer {
  /** Yields to the event loop when the current slice has run for sliceMs or more. */
  maybeYield(): Promise<void>;
  /** Longest time spent between two yields so far, ms. */
  readonly maxSliceMs: number;
  readonly slices: number;
}

export function createSlicer(sliceMs = DEFAULT_SLICE_MS): Slicer {
  let sliceStart = performance.now();
  let maxSliceMs = 0;
  let slices = 0;
  return {
    async maybeYield() {
      const elapsed = performance.now() - sliceStart;
      if (elapsed < sliceMs) return;
      if (elapsed > maxSliceMs) maxSliceMs = elapsed;
      slices++;
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    },
    get maxSliceMs() {
      return Math.max(maxSliceMs, performance.now() - sliceStart);
    },
    get slices() {
      return slices;
    },
  };
}

/** End of the slice starting at `start`: just past the first newline at or after start + size, or the end. */
function sliceEnd(bytes: Uint8Array, start: number, size: number): number {
  if (start + size >= bytes.length) return bytes.length;
  const newline = bytes.indexOf(NEWLINE, start + size);
  return newline === -1 ? bytes.length : newline + 1;
}

function decode(bytes: Buffer, start: number, end: number): string {
  return bytes.toString('utf8', start, end);
}

/** Bytes looked at for control characters. */
const TEXT_SAMPLE_BYTES = 64 * 1024;
/** Share of control characters in the sample above which bytes are not a text list. */
const MAX_CONTROL_SHARE = 0.01;

/**
 * Why `bytes` cannot be a list (binary garbage, an image, a zip), or undefined for text. A NUL
 * anywhere, or more than 1% control characters other than whitespace in the first 64 KB.
 * Bytes that are not UTF-8 pass: they decode to U+FFFD and their lines are skipped as invalid.
 */
export function textProblem(bytes: Buffer): string | undefined {
  if (bytes.indexOf(0) !== -1) return 'not a text list (binary content: NUL bytes)';
  const sampleEnd = Math.min(bytes.length, TEXT_SAMPLE_BYTES);
  let control = 0;
  for (let i = 0; i < sampleEnd; i++) {
    const c = bytes[i] ?? 0;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0b && c !== 0x0c && c !== 0x0d) || c === 0x7f) control++;
  }
  if (control > sampleEnd * MAX_CONTROL_SHARE)
    return `not a text list (binary content: ${control} control bytes in the first ${sampleEnd})`;
  return undefined;
}

/** SHA-256 of `bytes` as hex, a slice at a time. */
export async function hashInSlices(bytes: Buffer, slicer: Slicer): Promise<string> {
  const hash = createHash('sha256');
  for (let start = 0; start < bytes.length; start += HASH_SLICE_BYTES) {
    hash.update(bytes.subarray(start, Math.min(bytes.length, start + HASH_SLICE_BYTES)));
    await slicer.maybeYield();
  }
  return hash.digest('hex');
}

/**
 * parseList over UTF-8 bytes, a few hundred KB at a time. Slices end at a newline byte, which
 * never occurs inside a UTF-8 sequence, and no format spans lines, so the result is what
 * parseList would return for the whole text. `auto` detects the format on the first MB.
 */
export async function parseInSlices(bytes: Buffer, format: ListFormatOption, slicer: Slicer): Promise<ParsedList> {
  const resolved: ListFormat =
    format === 'auto' ? detectFormat(decode(bytes, 0, sliceEnd(bytes, 0, DETECT_SAMPLE_BYTES))) : format;
  const result: ParsedList = {
    format: resolved,
    domains: [],
    wildcards: [],
    addresses: [],
    skipped: 0,
    skippedByReason: {},
  };
  let start = 0;
  while (start < bytes.length) {
    const end = sliceEnd(bytes, start, PARSE_SLICE_BYTES);
    const part = parseList(decode(bytes, start, end), resolved);
    for (const name of part.domains) result.domains.push(name);
    for (const name of part.wildcards) result.wildcards.push(name);
    for (const address of part.addresses) result.addresses.push(address);
    result.skipped += part.skipped;
    for (const [reason, count] of Object.entries(part.skippedByReason)) {
      result.skippedByReason[reason] = (result.skippedByReason[reason] ?? 0) + count;
    }
    start = end;
    await slicer.maybeYield();
  }
  return result;
}

export interface BuildList {
  readonly name: string;
  readonly mode: 'block' | 'alert';
  readonly domains: readonly string[];
  readonly wildcards: readonly string[];
}

/**
 * createMatcher, a slice at a time. `allowlist` is read when the lists are merged, at the end, so
 * an allowlist change made while this runs is in the result. Throws ERR_CONFIG_INVALID as
 * createMatcher does.
 */
export async function buildMatcherInSlices(
  lists: readonly BuildList[],
  allowlist: () => readonly string[],
  slicer: Slicer,
): Promise<DomainMatcher> {
  const builder = createMatcherBuilder();
  for (const list of lists) {
    builder.startList(list.name, list.mode);
    for (let from = 0; from < list.domains.length; from += NAMES_PER_CHECK) {
      builder.addDomains(list.domains, from, Math.min(list.domains.length, from + NAMES_PER_CHECK));
      await slicer.maybeYield();
    }
    for (let from = 0; from < list.wildcards.length; from += NAMES_PER_CHECK) {
      builder.addWildcards(list.wildcards, from, Math.min(list.wildcards.length, from + NAMES_PER_CHECK));
      await slicer.maybeYield();
    }
  }
  return builder.finish(allowlist());
}

/**
 * A list as its last known good copy keeps it: the parsed rules, one a line in the domains format
 * (`*.name` for wildcards; an `ip` list's copy is its canonical addresses, in the ip format), never the text as served (which may hold anything the source returned).
 * Built and hashed in slices; the copy parses back to the same rules.
 */
export async function normalizedCopy(parsed: ParsedList, slicer: Slicer): Promise<{ text: Buffer; sha256: string }> {
  const hash = createHash('sha256');
  const parts: Buffer[] = [];
  const groups: readonly (readonly [readonly string[], string])[] = [
    [parsed.domains, ''],
    [parsed.wildcards, '*.'],
    [parsed.addresses, ''],
  ];
  for (const [names, prefix] of groups) {
    for (let i = 0; i < names.length; i += NAMES_PER_CHECK) {
      let lines = '';
      for (const name of names.slice(i, i + NAMES_PER_CHECK)) lines += `${prefix}${name}\n`;
      const part = Buffer.from(lines);
      hash.update(part);
      parts.push(part);
      await slicer.maybeYield();
    }
  }
  return { text: Buffer.concat(parts), sha256: hash.digest('hex') };
}
