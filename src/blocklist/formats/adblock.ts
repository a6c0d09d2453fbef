/**
 * The adblock format (uBlock Origin, AdGuard): `||name^`, `||name^$options`, `||*.name^`; a bare
 * `name` is taken as `||name^`, as uBlock Origin and AdGuard Home do. Options are ignored (a DNS
 * resolver cannot tell third-party from first-party), except `$badfilter`, which disables a rule
 * rather than adding one.
 */
import { INVALID_NAME, readName } from '../../net/domain-name.js';
import { isIPv6 } from '../../net/ip-literal.js';
import { addRule, skip, type LineParser } from './line-parser.js';

// Character codes are module constants, not imports: see ascii.ts.
const AT = 64; // @
const BANG = 33; // !
const BRACKET_OPEN = 91; // [
const CARET = 94; // ^
const COLON = 58; // :
const COMMA = 44; // ,
const DOLLAR = 36; // $
const DOT = 46; // .
const HASH = 35; // #
const PERCENT = 37; // %
const PIPE = 124; // |
const QUESTION = 63; // ?
const SLASH = 47; // /
const STAR = 42; // *

/** `#` followed by the second character of a cosmetic marker: `##`, `#@#`, `#?#`, `#$#`, `#%#`. */
export function isCosmeticMarker(next: number): boolean {
  return next === HASH || next === AT || next === QUESTION || next === DOLLAR || next === PERCENT;
}

/** True when `text[start, end)` holds a cosmetic or HTML-filtering marker. */
export function isCosmetic(text: string, start: number, end: number): boolean {
  for (let i = start; i < end - 1; i++) {
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if ((c === HASH && isCosmeticMarker(next)) || (c === DOLLAR && next === DOLLAR)) return true;
  }
  return false;
}

/** True when the comma-separated options in `text[start, end)` include `option`. */
function hasOption(text: string, start: number, end: number, option: string): boolean {
  let i = start;
  while (i < end) {
    const optionEnd = i + option.length;
    if (text.startsWith(option, i) && (optionEnd === end || text.charCodeAt(optionEnd) === COMMA)) return true;
    while (i < end && text.charCodeAt(i) !== COMMA) i++;
    i++;
  }
  return false;
}

/**
 * What follows a name in an adblock rule: `end` for a clean rule (`name`, `name^`, `name^|`,
 * `name$options`, `name^$options`), `cosmetic` for `$$` HTML filters, `exception` for
 * `$badfilter`, `other` for anything else (paths, globs, cosmetic markers...).
 */
function adblockRuleTail(text: string, stop: number, end: number): 'end' | 'cosmetic' | 'exception' | 'other' {
  let i = stop;
  if (i < end && text.charCodeAt(i) === CARET) i++;
  if (i === end) return 'end';
  const c = text.charCodeAt(i);
  if (c === PIPE) return i + 1 === end ? 'end' : 'other';
  if (c !== DOLLAR) return 'other';
  if (text.charCodeAt(i + 1) === DOLLAR) return 'cosmetic';
  return hasOption(text, i + 1, end, 'badfilter') ? 'exception' : 'end';
}

/** End of the host part of an adblock rule: the first `^`, `$` or `/` from `start`, or `end`. */
function adblockHostEnd(text: string, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === CARET || c === DOLLAR || c === SLASH) break;
    i++;
  }
  return i;
}

export const parseAdblockLine: LineParser = (sink, scan, text, start, end) => {
  const first = text.charCodeAt(start);
  const second = text.charCodeAt(start + 1);
  if (first === BANG || first === BRACKET_OPEN) return;
  if (first === HASH) {
    if (isCosmeticMarker(second)) skip(sink, 'cosmetic');
    return; // otherwise a `#` comment, as in AdGuard DNS lists
  }
  if (first === AT && second === AT) {
    skip(sink, 'exception');
    return;
  }
  const anchored = first === PIPE && second === PIPE;
  let nameStart = anchored ? start + 2 : start;
  const wildcard = text.charCodeAt(nameStart) === STAR && text.charCodeAt(nameStart + 1) === DOT;
  if (wildcard) nameStart += 2;
  const result = readName(text, nameStart, end, scan);
  const stop = scan.stop;
  const tail = adblockRuleTail(text, stop, end);
  if (tail === 'end') {
    // A bare line that is not a clean name is a URL fragment such as `-coin-hive.js` or `$websocket,domain=x`.
    if (!anchored && result === INVALID_NAME) skip(sink, 'path');
    else addRule(sink, result, wildcard);
    return;
  }
  if (tail !== 'other') {
    skip(sink, tail);
    return;
  }
  if (isCosmetic(text, start, end)) {
    skip(sink, 'cosmetic');
    return;
  }
  const next = text.charCodeAt(stop);
  if (next === STAR) {
    skip(sink, 'pattern');
  } else if (
    anchored &&
    (next === COLON || next === BRACKET_OPEN) &&
    isIPv6(text, nameStart, adblockHostEnd(text, stop, end))
  ) {
    skip(sink, 'ip');
  } else {
    skip(sink, 'path');
  }
};
