/**
 * Builders for the record-less answers poolsink makes itself (errors, truncation), and the header
 * and OPT writers the block answer shares.
 */
import { ADVERTISED_UDP_PAYLOAD, FLAG_TC, HEADER_LEN, QTYPE, RCODE, answerFlags } from './header.js';
import type { ParsedQuery } from './query.js';

const OPTION_NSID = 3;
const OPTION_EDE = 15;

/**
 * Size of the OPT record poolsink writes for this client: its NSID when asked and configured
 * (`parsed.replyNsid`), an EDE carrying `edeTextLen` bytes of text (none when -1), and `extraLen`
 * bytes of options kept from the upstream's answer (its EDEs).
 */
export function optLen(parsed: ParsedQuery, edeTextLen: number, extraLen = 0): number {
  const nsid = parsed.replyNsid;
  return 11 + (nsid !== undefined ? 4 + nsid.length : 0) + (edeTextLen >= 0 ? 6 + edeTextLen : 0) + extraLen;
}

/**
 * Writes this client's OPT record (RFC 6891) at `pos`: poolsink's own payload size, the client's
 * DO bit, the upper rcode bits, then NSID (RFC 5001) when `parsed.replyNsid` is set, an Extended
 * DNS Error when `edeCode >= 0`, and `extra` (raw options kept from the upstream). Never a cookie:
 * poolsink does not implement DNS Cookies as a server (RFC 7873 §5.2), so it sends none.
 * Returns the offset past it.
 */
export function writeOpt(
  out: Buffer,
  pos: number,
  parsed: ParsedQuery,
  rcode: number,
  edeCode: number,
  edeText: Buffer | undefined,
  extra?: Buffer,
): number {
  const textLen = edeCode >= 0 ? (edeText?.length ?? 0) : -1;
  const rdlen = optLen(parsed, textLen, extra?.length ?? 0) - 11;
  out[pos] = 0;
  out.writeUInt16BE(QTYPE.OPT, pos + 1);
  out.writeUInt16BE(ADVERTISED_UDP_PAYLOAD, pos + 3);
  out[pos + 5] = (rcode >>> 4) & 0xff;
  out[pos + 6] = 0;
  out[pos + 7] = parsed.dnssecOk ? 0x80 : 0;
  out[pos + 8] = 0;
  out.writeUInt16BE(rdlen, pos + 9);
  pos += 11;
  const nsid = parsed.replyNsid;
  if (nsid !== undefined) {
    out.writeUInt16BE(OPTION_NSID, pos);
    out.writeUInt16BE(nsid.length, pos + 2);
    pos += 4;
    pos += nsid.copy(out, pos);
  }
  if (textLen >= 0) {
    out.writeUInt16BE(OPTION_EDE, pos);
    out.writeUInt16BE(2 + textLen, pos + 2);
    out.writeUInt16BE(edeCode, pos + 4);
    pos += 6;
    if (edeText !== undefined) pos += edeText.copy(out, pos);
  }
  if (extra !== undefined) pos += extra.copy(out, pos);
  return pos;
}

export function writeHeader(
  out: Buffer,
  id: number,
  flags: number,
  qd: number,
  an: number,
  ns: number,
  ar: number,
): void {
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(qd, 4);
  out.writeUInt16BE(an, 6);
  out.writeUInt16BE(ns, 8);
  out.writeUInt16BE(ar, 10);
}

/**
 * An answer with no records: FORMERR, NOTIMP, REFUSED, SERVFAIL, BADVERS. Echoes the question when
 * it was read, and answers EDNS with EDNS (RFC 6891 §7), carrying an EDE when one is given.
 */
export function buildErrorResponse(
  query: Buffer,
  parsed: ParsedQuery,
  rcode: number,
  edeCode = -1,
  edeText?: Buffer,
): Buffer {
  const qEnd = parsed.hasQuestion ? parsed.questionEnd : HEADER_LEN;
  const withOpt = parsed.edns || rcode === RCODE.BADVERS;
  const textLen = edeCode >= 0 ? (edeText?.length ?? 0) : -1;
  const out = Buffer.allocUnsafe(qEnd + (withOpt ? optLen(parsed, textLen) : 0));
  writeHeader(out, parsed.id, answerFlags(parsed.flags, rcode), parsed.hasQuestion ? 1 : 0, 0, 0, withOpt ? 1 : 0);
  if (qEnd > HEADER_LEN) query.copy(out, HEADER_LEN, HEADER_LEN, qEnd);
  if (withOpt) writeOpt(out, qEnd, parsed, rcode, edeCode, edeText);
  return out;
}

const RFC8482_HINFO = Buffer.from('\x07RFC8482\x00', 'latin1');
const TYPE_HINFO = 13;
const ANY_ANSWER_TTL_SEC = 3600;

/**
 * The RFC 8482 §4.2 answer to an ANY query, made here instead of forwarded: one synthesized HINFO
 * record ("RFC8482", "") owned by the query name, so ANY cannot be used for amplification.
 */
export function buildAnyAnswer(query: Buffer, parsed: ParsedQuery): Buffer {
  const qEnd = parsed.questionEnd;
  const rrLen = 2 + 10 + RFC8482_HINFO.length;
  const out = Buffer.allocUnsafe(qEnd + rrLen + (parsed.edns ? optLen(parsed, -1) : 0));
  writeHeader(out, parsed.id, answerFlags(parsed.flags, RCODE.NOERROR), 1, 1, 0, parsed.edns ? 1 : 0);
  query.copy(out, HEADER_LEN, HEADER_LEN, qEnd);
  let pos = qEnd;
  out.writeUInt16BE(0xc000 | HEADER_LEN, pos); // the owner: a pointer to the question name
  out.writeUInt16BE(TYPE_HINFO, pos + 2);
  out.writeUInt16BE(parsed.qclass, pos + 4);
  out.writeUInt32BE(ANY_ANSWER_TTL_SEC, pos + 6);
  out.writeUInt16BE(RFC8482_HINFO.length, pos + 10);
  pos += 12;
  pos += RFC8482_HINFO.copy(out, pos);
  if (parsed.edns) writeOpt(out, pos, parsed, RCODE.NOERROR, -1, undefined);
  return out;
}

/**
 * A truncated (TC=1) copy of `response` for a UDP client whose payload size it exceeds: header and
 * question only, plus an OPT when the client used EDNS, so the client retries over TCP.
 */
export function buildTruncated(response: Buffer, parsed: ParsedQuery): Buffer {
  const qEnd = parsed.questionEnd;
  const out = Buffer.allocUnsafe(qEnd + (parsed.edns ? optLen(parsed, -1) : 0));
  response.copy(out, 0, 0, qEnd);
  const rcode = response[3]! & 0x0f;
  out[2] = response[2]! | (FLAG_TC >>> 8);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(parsed.edns ? 1 : 0, 10);
  if (parsed.edns) writeOpt(out, qEnd, parsed, rcode, -1, undefined);
  return out;
}
