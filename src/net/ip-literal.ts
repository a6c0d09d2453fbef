/**
 * Recognizes IP address literals inside a larger text, over `text[start, end)`, without building
 * substrings: list parsers ask this of every hosts line and of names that failed. For parsing an
 * address into a value (configuration, ACLs) see address.ts.
 */
import { isDigit, isHexDigit } from './ascii.js';

// Character codes are module constants, not imports: see ascii.ts.
const BRACKET_CLOSE = 93; // ]
const BRACKET_OPEN = 91; // [
const COLON = 58; // :
const DIGIT_0 = 48;
const DOT = 46; // .
const PERCENT = 37; // %

/** Dotted-quad IPv4 with each part 0..255. */
export function isIPv4(text: string, start: number, end: number): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0) return false;
      parts++;
      digits = 0;
      value = 0;
    } else if (isDigit(c)) {
      digits++;
      value = value * 10 + (c - DIGIT_0);
      if (digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return digits > 0 && parts === 3;
}

/**
 * IPv6 literal, loosely: hex digits, colons (at least two), an embedded IPv4 tail, an optional
 * `%zone` and optional brackets. Loose is enough: it only decides between skip reasons and
 * whether a hosts line starts with an address.
 */
export function isIPv6(text: string, start: number, end: number): boolean {
  if (text.charCodeAt(start) === BRACKET_OPEN && text.charCodeAt(end - 1) === BRACKET_CLOSE) {
    start++;
    end--;
  }
  let colons = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === COLON) colons++;
    else if (c === PERCENT) return colons >= 2 && i + 1 < end;
    else if (!isHexDigit(c) && c !== DOT) return false;
  }
  return colons >= 2;
}

export function isIpAddress(text: string, start: number, end: number): boolean {
  return isIPv4(text, start, end) || isIPv6(text, start, end);
}
