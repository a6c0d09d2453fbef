/**
 * Builders for the record-less answers poolsink makes itself (errors, truncation), and the header
 * and OPT writers the block answer shares.
 */
import { ADVERTISED_UDP_PAYLOAD, FLAG_TC, HEADER_LEN, QTYPE, RCODE, answerFlags } from './header.js';
import type { ParsedQuery } from './query.js';

/** Size of an OPT record that carries `edeTextLen` bytes of EDE text (or no EDE when -1). */
export function optLen(edeTextLen: number): number {
  return 11 + (edeTextLen >= 0 ? 6 + edeTextLen : 0);
}

/**
 * Writes an OPT record (RFC 6891) at `pos`, echoing the DO bit, with the upper rcode bits and an
 * optional Extended DNS Error. Returns the offset past it.
 */
export function writeOpt(
  out: Buffer,
  pos: number,
  rcode: number,
  dnssecOk: boolean,
  edeCode: number,
  edeText: Buffer | undefined,
): number {
  const textLen = edeCode >= 0 ? (edeText?.length ?? 0) : -1;
  out[pos] = 0;
  out.writeUInt16BE(QTYPE.OPT, pos + 1);
  out.writeUInt16BE(ADVERTISED_UDP_PAYLOAD, pos + 3);
  out[pos + 5] = (rcode >>> 4) & 0xff;
  out[pos + 6] = 0;
  out[pos + 7] = dnssecOk ? 0x80 : 0;
  out[pos + 8] = 0;
  const rdlen = textLen >= 0 ? 6 + textLen : 0;
  out.writeUInt16BE(rdlen, pos + 9);
  pos += 11;
  if (textLen >= 0) {
    out.writeUInt16BE(15, pos); // EDNS option code 15: Extended DNS Error
    out.writeUInt16BE(2 + textLen, pos + 2);
    out.writeUInt16BE(edeCode, pos + 4);
    pos += 6;
    if (edeText !== undefined) pos += edeText.copy(out, pos);
  }
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
  const out = Buffer.allocUnsafe(qEnd + (withOpt ? optLen(textLen) : 0));
  writeHeader(out, parsed.id, answerFlags(parsed.flags, rcode), parsed.hasQuestion ? 1 : 0, 0, 0, withOpt ? 1 : 0);
  if (qEnd > HEADER_LEN) query.copy(out, HEADER_LEN, HEADER_LEN, qEnd);
  if (withOpt) writeOpt(out, qEnd, rcode, parsed.dnssecOk, edeCode, edeText);
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
  const out = Buffer.allocUnsafe(qEnd + rrLen + (parsed.edns ? optLen(-1) : 0));
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
  if (parsed.edns) writeOpt(out, pos, RCODE.NOERROR, parsed.dnssecOk, -1, undefined);
  return out;
}

/**
 * A truncated (TC=1) copy of `response` for a UDP client whose payload size it exceeds: header and
 * question only, plus an OPT when the client used EDNS, so the client retries over TCP.
 */
export function buildTruncated(response: Buffer, parsed: ParsedQuery): Buffer {
  const qEnd = parsed.questionEnd;
  const out = Buffer.allocUnsafe(qEnd + (parsed.edns ? optLen(-1) : 0));
  response.copy(out, 0, 0, qEnd);
  const rcode = response[3]! & 0x0f;
  out[2] = response[2]! | (FLAG_TC >>> 8);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(parsed.edns ? 1 : 0, 10);
  if (parsed.edns) writeOpt(out, qEnd, rcode, parsed.dnssecOk, -1, undefined);
  return out;
}
