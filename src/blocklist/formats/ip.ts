/**
 * The IP format (`format: ip`, never auto-detected): one address or CIDR a line,
 * `198.51.100.7`, `203.0.113.0/24`, `2001:db8::/32`, with `#` or `;` comments (also after the
 * entry). Each entry is kept in canonical text (net/cidr-text.ts); blocking by it happens on the
 * addresses of forwarded answers (response-IP blocking), not on names.
 */
import { parseCidrText } from '../../net/cidr-text.js';
import { onlyCommentFollows, skip, tokenEnd, type LineParser } from './line-parser.js';

const HASH = 35; // #
const SEMICOLON = 59; // ;

export const parseIpLine: LineParser = (sink, _scan, text, start, end) => {
  const first = text.charCodeAt(start);
  if (first === HASH || first === SEMICOLON) return;
  let stop = tokenEnd(text, start, end);
  if (text.charCodeAt(stop - 1) === SEMICOLON) stop--;
  if (!onlyCommentFollows(text, stop, end) && text.charCodeAt(stop) !== SEMICOLON) {
    skip(sink, 'invalid');
    return;
  }
  const cidr = parseCidrText(text.slice(start, stop));
  if (cidr === undefined) skip(sink, 'invalid');
  else sink.addresses.push(cidr.text);
};
