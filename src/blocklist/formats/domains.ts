/** The plain-domains format: `name`, `*.name`, `name # comment`; `#` and `!` lines are comments. */
import { isSpace } from '../../net/ascii.js';
import { readName } from '../../net/domain-name.js';
import { isIpAddress } from '../../net/ip-literal.js';
import { addRule, onlyCommentFollows, skip, stopReason, tokenEnd, type LineParser } from './line-parser.js';

// Character codes are module constants, not imports: see ascii.ts.
const BANG = 33; // !
const DOT = 46; // .
const HASH = 35; // #
const STAR = 42; // *

export const parseDomainsLine: LineParser = (sink, scan, text, start, end) => {
  const first = text.charCodeAt(start);
  if (first === HASH || first === BANG) return;
  const wildcard = first === STAR && text.charCodeAt(start + 1) === DOT;
  const result = readName(text, wildcard ? start + 2 : start, end, scan);
  const stop = scan.stop;
  if (stop === end) {
    addRule(sink, result, wildcard);
    return;
  }
  const next = text.charCodeAt(stop);
  if (isSpace(next) || next === HASH) {
    if (onlyCommentFollows(text, stop, end)) addRule(sink, result, wildcard);
    else skip(sink, isIpAddress(text, start, stop) ? 'ip' : 'invalid'); // several tokens, e.g. a hosts line
    return;
  }
  skip(sink, stopReason(text, start, stop, tokenEnd(text, stop, end)));
};
