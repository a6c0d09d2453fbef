/**
 * Domain names as poolsink keeps them: lower-cased, one trailing dot dropped, punycode for
 * Unicode, at least two labels. `normalizeDomain` checks one whole string (config, API, CLI);
 * `readName` reads a name out of a larger text in one charCode pass (the list formats).
 */
import { domainToASCII } from 'node:url';
import { isDigit } from './ascii.js';
import { isIPv4 } from './ip-literal.js';

// Character codes are module constants, not imports: see ascii.ts.
const DOT = 46; // .
const HYPHEN = 45; // -
const LOWER_A = 97;
const LOWER_L = 108;
const LOWER_Z = 122;
const UNDERSCORE = 95; // _
const UPPER_A = 65;
const UPPER_Z = 90;

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * Why a text is not a name to keep: `invalid` (not a valid multi-label DNS name), `ip` (an IPv4
 * address), `localhost` (hosts-file boilerplate such as `localhost`, `ip6-*` or `0.0.0.0`).
 */
export interface NameRejection {
  readonly reason: 'invalid' | 'ip' | 'localhost';
}

/** Shared results of readName's failures, so a rejected name allocates nothing. */
export const INVALID_NAME: NameRejection = Object.freeze({ reason: 'invalid' });
const IP_NAME: NameRejection = Object.freeze({ reason: 'ip' });
const LOCALHOST_NAME: NameRejection = Object.freeze({ reason: 'localhost' });

/** Where readName stopped: the first character that cannot be part of a name, or the end. */
export interface NameScan {
  stop: number;
}

/**
 * Hosts-file boilerplate, rejected as `localhost`: these multi-label names (all start with `l`,
 * which readName checks before the Set), the single-label ones below plus `ip6-*`, and `0.0.0.0`.
 */
const LOCAL_NAMES: ReadonlySet<string> = new Set([
  'localhost.localdomain',
  'localhost4.localdomain4',
  'localhost6.localdomain6',
]);
const LOCAL_LABELS: ReadonlySet<string> = new Set([
  'localhost',
  'localhost4',
  'localhost6',
  'local',
  'broadcasthost',
  'localdomain',
]);

function isLocalLabel(label: string): boolean {
  return LOCAL_LABELS.has(label) || label.startsWith('ip6-');
}

/**
 * Reads a name from `text[start, end)` in one pass, stopping at the first character that cannot
 * be part of one (whitespace, `#`, `^`, `$`, `/`, `*`, `:` ...) and leaving that position in
 * `scan.stop`, so each format only has to look at what follows. Returns the normalized name of
 * `text[start, scan.stop)` or the reason it is not one. One trailing dot is dropped.
 */
export function readName(text: string, start: number, end: number, scan: NameScan): string | NameRejection {
  let labels = 1;
  let labelLength = 0;
  let labelStart = start;
  let lastLabelNumeric = true;
  let previousLabelNumeric = true;
  let hasUpper = false;
  let nonAscii = false;
  let bad = false;
  let i = start;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (labelLength === 0 || text.charCodeAt(i - 1) === HYPHEN) bad = true;
      labels++;
      labelLength = 0;
      labelStart = i + 1;
      previousLabelNumeric = lastLabelNumeric;
      lastLabelNumeric = true;
      continue;
    }
    if (c >= LOWER_A && c <= LOWER_Z) {
      lastLabelNumeric = false;
    } else if (isDigit(c)) {
      // a label of digits only stays numeric
    } else if (c === HYPHEN) {
      lastLabelNumeric = false;
      if (i === labelStart) bad = true;
    } else if (c === UNDERSCORE) {
      lastLabelNumeric = false;
    } else if (c >= UPPER_A && c <= UPPER_Z) {
      lastLabelNumeric = false;
      hasUpper = true;
    } else if (c > 127) {
      lastLabelNumeric = false;
      nonAscii = true;
    } else {
      break;
    }
    if (++labelLength > MAX_LABEL_LENGTH) bad = true;
  }
  scan.stop = i;

  let nameEnd = i;
  if (labelLength === 0 && nameEnd > start) {
    // A trailing dot: drop it and the empty label after it.
    nameEnd--;
    labels--;
    lastLabelNumeric = previousLabelNumeric;
  } else if (labelLength > 0 && text.charCodeAt(nameEnd - 1) === HYPHEN) {
    bad = true;
  }
  if (bad || nameEnd === start) return INVALID_NAME;
  if (nonAscii) return readUnicodeName(text.substring(start, nameEnd));
  if (nameEnd - start > MAX_NAME_LENGTH) return INVALID_NAME;

  let name = text.substring(start, nameEnd);
  if (hasUpper) name = name.toLowerCase();
  if (labels < 2) return isLocalLabel(name) ? LOCALHOST_NAME : INVALID_NAME;
  // No top-level domain is all digits (RFC 3696 §2), so this rejects IPv4 literals and their fragments.
  if (lastLabelNumeric) {
    if (name === '0.0.0.0') return LOCALHOST_NAME;
    return isIPv4(text, start, nameEnd) ? IP_NAME : INVALID_NAME;
  }
  if (name.charCodeAt(0) === LOWER_L && LOCAL_NAMES.has(name)) return LOCALHOST_NAME;
  return name;
}

/** Slow path for names with non-ASCII characters: IDNA to punycode, then the ASCII checks. */
function readUnicodeName(input: string): string | NameRejection {
  const ascii = domainToASCII(input);
  if (ascii === '') return INVALID_NAME;
  const scan: NameScan = { stop: 0 };
  const result = readName(ascii, 0, ascii.length, scan);
  return scan.stop === ascii.length ? result : INVALID_NAME;
}

/**
 * Lower-cases, strips one trailing dot and validates a DNS name fit to be a block or allow entry:
 * at least two labels, each 1..63 of `[a-z0-9_-]` not starting or ending with `-` (punycode
 * `xn--` labels pass), at most 253 characters, and a top-level label that is not all digits.
 * Unicode names are converted to punycode. Returns undefined when the input is not such a name.
 */
export function normalizeDomain(input: string): string | undefined {
  const scan: NameScan = { stop: 0 };
  const result = readName(input, 0, input.length, scan);
  return scan.stop === input.length && typeof result === 'string' ? result : undefined;
}
