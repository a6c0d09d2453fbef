/** The hosts-file format: `0.0.0.0 name [name2 ...]  # comment`. Hosts files have no wildcards. */
import { isSpace } from '../../net/ascii.js';
import { readName } from '../../net/domain-name.js';
import { isIpAddress } from '../../net/ip-literal.js';
import { addRule, skip, stopReason, tokenEnd, type LineParser } from './line-parser.js';

// Character codes are module constants, not imports: see ascii.ts.
const HASH = 35; // #

export const parseHostsLine: LineParser = (sink, scan, text, start, end) => {
  if (text.charCodeAt(start) === HASH) return;
  let i = start;
  while (i < end && !isSpace(text.charCodeAt(i))) i++;
  if (i === end || !isIpAddress(text, start, i)) {
    skip(sink, 'invalid');
    return;
  }
  while (i < end) {
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    if (i === end || text.charCodeAt(i) === HASH) return;
    const result = readName(text, i, end, scan);
    const stop = scan.stop;
    const next = text.charCodeAt(stop);
    if (stop === end || isSpace(next) || next === HASH) {
      addRule(sink, result, false);
      i = stop;
    } else {
      const nameEnd = tokenEnd(text, stop, end);
      skip(sink, stopReason(text, i, stop, nameEnd));
      i = nameEnd;
    }
  }
};
