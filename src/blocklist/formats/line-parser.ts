/**
 * What every list format shares: the contract of a line parser, the sink it adds rules and skips
 * to, and the token helpers the formats use. A format is one LineParser (hosts.ts, domains.ts,
 * adblock.ts), registered in ../parse.ts.
 */
import { isSpace } from '../../net/ascii.js';
import type { NameRejection, NameScan } from '../../net/domain-name.js';
import { isIPv6 } from '../../net/ip-literal.js';

// Character codes are module constants, not imports: see ascii.ts.
const BOM = 0xfeff;
const HASH = 35; // #
const SLASH = 47; // /
const STAR = 42; // *

/**
 * Why an entry could not become a rule:
 * - `ip`: an IP address where a name was expected (`||1.2.3.4^`, a bare `10.0.0.1`)
 * - `path`: needs the full URL, which DNS never sees (`||host.com/x.js`, `/regex/`, `host.com/miner.js`,
 *   `||host.com^*?q=`, option-only rules such as `$websocket,domain=...`)
 * - `pattern`: a glob other than a leading `*.` (`||minero-proxy-*.now.sh^`)
 * - `cosmetic`: element hiding / scriptlet rules (`##`, `#@#`, `#?#`, `#$#`, `#%#`, `$$`)
 * - `exception`: allow rules inside a blocklist (`@@...`, `$badfilter`); the allowlist is separate config
 * - `localhost`: hosts-file boilerplate (`localhost`, `broadcasthost`, `ip6-*`, `0.0.0.0` as a name)
 * - `invalid`: anything else that is not a valid multi-label DNS name
 */
export type SkipReason = 'ip' | 'path' | 'pattern' | 'cosmetic' | 'exception' | 'localhost' | 'invalid';

/** Collects rules and skip counts while one list is parsed. */
export interface RuleSink {
  domains: string[];
  wildcards: string[];
  /** Canonical addresses and CIDRs (the `ip` format only). */
  addresses: string[];
  skipped: number;
  skippedByReason: Record<string, number>;
}

/**
 * Parses the trimmed, non-blank line `text[start, end)` into `sink`: each entry on it becomes a
 * rule or a counted skip, and comments nothing. `scan` is scratch space for readName.
 */
export type LineParser = (sink: RuleSink, scan: NameScan, text: string, start: number, end: number) => void;

export function skip(sink: RuleSink, reason: SkipReason): void {
  sink.skipped++;
  sink.skippedByReason[reason] = (sink.skippedByReason[reason] ?? 0) + 1;
}

export function addRule(sink: RuleSink, result: string | NameRejection, wildcard: boolean): void {
  if (typeof result !== 'string') skip(sink, result.reason);
  else if (wildcard) sink.wildcards.push(result);
  else sink.domains.push(result);
}

/** Index of the first `code` in `text[start, end)`, or -1; bounded, so a miss never scans the rest of the file. */
function indexOfCode(text: string, code: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === code) return i;
  return -1;
}

/** End of the token starting at `start`: the next whitespace or `#`, or `end`. */
export function tokenEnd(text: string, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (isSpace(c) || c === HASH) break;
    i++;
  }
  return i;
}

/** Why the token `text[start, end)` is not a name, given that readName stopped at `text[stop]`. */
export function stopReason(text: string, start: number, stop: number, end: number): SkipReason {
  if (text.charCodeAt(stop) === STAR) return 'pattern';
  if (indexOfCode(text, SLASH, stop, end) !== -1) return 'path'; // `host.com/x`, `http://host.com/`
  if (isIPv6(text, start, end)) return 'ip';
  return 'invalid';
}

/** True when only whitespace or a `#` comment follows `start` on the line. */
export function onlyCommentFollows(text: string, start: number, end: number): boolean {
  let i = start;
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  return i === end || text.charCodeAt(i) === HASH;
}

/**
 * Calls `visit` with the trimmed bounds of each non-blank line. Handles LF, CRLF and a leading
 * BOM. `visit` returns false to stop early.
 */
export function forEachLine(text: string, visit: (start: number, end: number) => boolean): void {
  let lineStart = text.charCodeAt(0) === BOM ? 1 : 0;
  const length = text.length;
  while (lineStart < length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = length;
    let start = lineStart;
    let end = lineEnd;
    while (start < end && isSpace(text.charCodeAt(start))) start++;
    while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
    if (end > start && !visit(start, end)) return;
    lineStart = lineEnd + 1;
  }
}
