/**
 * Blocklist text → domain rules. Three formats (hosts, plain domains, adblock), one module each
 * under formats/, and an auto-detector. To add a format: write its LineParser in formats/, add its
 * name to ListFormat and LINE_PARSERS here, and teach detectFormat its lines.
 *
 * Every non-blank, non-comment entry ends as exactly one of: a domain (blocks itself and its
 * subdomains), a wildcard (`*.name`: blocks subdomains of name only), or a skip counted under a
 * reason. Nothing throws on bad input: lists are third-party text and a bad line is an expected
 * outcome, not a failure. Names are read by net/domain-name.ts.
 *
 * Lists run to a million lines, so lines are walked with indexOf and charCode loops over the one
 * big string: no split, no regex, no per-line substring except for the names that are kept.
 */
import { isSpace } from '../net/ascii.js';
import type { NameScan } from '../net/domain-name.js';
import { isIpAddress } from '../net/ip-literal.js';
import { isCosmetic, isCosmeticMarker, parseAdblockLine } from './formats/adblock.js';
import { parseDomainsLine } from './formats/domains.js';
import { parseHostsLine } from './formats/hosts.js';
import { parseIpLine } from './formats/ip.js';
import { forEachLine, type LineParser, type RuleSink } from './formats/line-parser.js';

// Character codes are module constants, not imports: see ascii.ts.
const AT = 64; // @
const BANG = 33; // !
const BRACKET_OPEN = 91; // [
const DOLLAR = 36; // $
const HASH = 35; // #
const PIPE = 124; // |
const SLASH = 47; // /

export type { SkipReason } from './formats/line-parser.js';

export type ListFormat = 'hosts' | 'domains' | 'adblock' | 'ip';
export type ListFormatOption = ListFormat | 'auto';

export interface ParsedList {
  /** The detected or given format. */
  format: ListFormat;
  /** Lower-cased, trailing dot removed, valid DNS names; each blocks itself and its subdomains. May hold duplicates. */
  domains: string[];
  /** From `*.name` entries, stored without the `*.`; each blocks subdomains of name only, not name itself. */
  wildcards: string[];
  /** `ip` lists: canonical addresses and CIDRs (net/cidr-text.ts); empty for the name formats. */
  addresses: string[];
  /**
   * Entries that were not comments or blank but could not become a rule. One per line, except a
   * hosts line with several names, where each name that fails counts once.
   */
  skipped: number;
  /** `skipped` broken down by reason; only reasons that occurred are present. */
  skippedByReason: Record<string, number>;
}

/** detectFormat looks at this many voting lines (comments starting with `#` do not vote). */
const DETECT_SAMPLE_LINES = 500;

const LINE_PARSERS: Record<ListFormat, LineParser> = {
  hosts: parseHostsLine,
  domains: parseDomainsLine,
  adblock: parseAdblockLine,
  ip: parseIpLine,
};

/**
 * Guesses the format by majority vote over the first few hundred lines that are not `#`
 * comments: a line starting with an IP address and whitespace votes hosts; `||`, `@@`, `|`, `/`,
 * `$`, `!` comments, `[Adblock` headers and cosmetic rules vote adblock; anything else votes
 * domains. Ties go to hosts, then adblock; an empty list is `domains`.
 */
export function detectFormat(text: string): ListFormat {
  let hosts = 0;
  let adblock = 0;
  let domains = 0;
  forEachLine(text, (start, end) => {
    const c = text.charCodeAt(start);
    const next = text.charCodeAt(start + 1);
    if (c === HASH) {
      if (!isCosmeticMarker(next)) return true;
      adblock++;
    } else if (
      c === BANG ||
      c === BRACKET_OPEN ||
      c === PIPE ||
      c === SLASH ||
      c === DOLLAR ||
      (c === AT && next === AT) ||
      isCosmetic(text, start, end)
    ) {
      adblock++;
    } else {
      let firstTokenEnd = start;
      while (firstTokenEnd < end && !isSpace(text.charCodeAt(firstTokenEnd))) firstTokenEnd++;
      if (firstTokenEnd < end && isIpAddress(text, start, firstTokenEnd)) hosts++;
      else domains++;
    }
    return hosts + adblock + domains < DETECT_SAMPLE_LINES;
  });
  if (hosts === 0 && adblock === 0 && domains === 0) return 'domains';
  if (hosts >= adblock && hosts >= domains) return 'hosts';
  if (adblock >= domains) return 'adblock';
  return 'domains';
}

/**
 * Parses a whole list. `format: 'auto'` runs detectFormat first. Names of 13 characters or more
 * are V8 slices of `text`, which keeps `text` in memory while any of them lives (in the matcher,
 * for as long as the list is loaded). Measured on 1M names: about 13 MB more heap than copying
 * each name, but a lower peak RSS and no copying time.
 */
export function parseList(text: string, format: ListFormatOption): ParsedList {
  const resolved = format === 'auto' ? detectFormat(text) : format;
  const sink: RuleSink = { domains: [], wildcards: [], addresses: [], skipped: 0, skippedByReason: {} };
  const scan: NameScan = { stop: 0 };
  const parseLine = LINE_PARSERS[resolved];
  forEachLine(text, (start, end) => {
    parseLine(sink, scan, text, start, end);
    return true;
  });
  return { format: resolved, ...sink };
}
