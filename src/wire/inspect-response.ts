/**
 * Response-side inspection: walks an upstream answer once (bounds-checked; the upstream may be
 * spoofed or broken) and reports what the cache and the CNAME-cloaking check need.
 * Runs once per upstream answer, off the cached-answer path, so it may allocate.
 */
import { decodeName, skipName } from './name.js';
import { HEADER_LEN, QCLASS_IN, QTYPE, RCODE } from './header.js';

export interface ResponseFacts {
  /** The header's 4-bit RCODE. */
  rcode: number;
  /**
   * The full 12-bit RCODE (RFC 6891 §6.1.3): the OPT record's upper 8 bits above the header's 4
   * when an OPT is present, else equal to `rcode`. BADVERS (16) has a header RCODE of 0.
   */
  extendedRcode: number;
  truncated: boolean;
  answerCount: number;
  /** Offset just past the (single) question. */
  questionEnd: number;
  /** Offset of the 32-bit TTL field of every record after the question, except the OPT pseudo-record. */
  ttlOffsets: number[];
  /** Minimum TTL over the records in `ttlOffsets`; -1 when there are none. */
  minTtlSec: number;
  /**
   * RFC 2308 §5: for NXDOMAIN or NODATA (NOERROR, no answers) with an SOA in the authority section,
   * min(SOA record TTL, SOA MINIMUM); otherwise -1.
   */
  negativeTtlSec: number;
  /** Lower-case dotted targets of the CNAME records in the answer section, in order. */
  cnameTargets: string[];
  /** Rdata offsets of the answer section's A records (4 bytes each), for response-IP blocking. */
  ipv4Offsets: number[];
  /** Rdata offsets of the answer section's AAAA records (16 bytes each). */
  ipv6Offsets: number[];
  /** Offset of the first authority-section record (additionalStart when there is none). */
  authorityStart: number;
  /**
   * The authority section may be left out without TC: a positive answer whose authority holds
   * only the zone's NS RRset and its RRSIGs (no NSEC/NSEC3 proof, as a wildcard answer carries).
   */
  authorityOptional: boolean;
  /** Offset of the first additional-section record (the message's length when there is none). */
  additionalStart: number;
  /** The OPT record's bytes as [optStart, optEnd); both -1 without one. */
  optStart: number;
  optEnd: number;
  /**
   * The OPT's options that describe the answer itself and so travel on to clients: its Extended
   * DNS Errors (RFC 8914), as raw option bytes (a private copy); undefined when there are none.
   * Everything else in the upstream's OPT (cookies, NSID, padding …) belongs to the hop.
   */
  keptOptions: Buffer | undefined;
}

const OPTION_EDE = 15;

/** The EDE options of the option list at [start, end), copied; undefined when none or malformed. */
function edeOptions(buf: Uint8Array, start: number, end: number): Buffer | undefined {
  let kept = 0;
  for (let pos = start; pos < end; ) {
    if (pos + 4 > end) return undefined;
    const next = pos + 4 + readU16(buf, pos + 2);
    if (next > end) return undefined;
    if (readU16(buf, pos) === OPTION_EDE) kept += next - pos;
    pos = next;
  }
  if (kept === 0) return undefined;
  const out = Buffer.allocUnsafe(kept);
  let at = 0;
  for (let pos = start; pos < end; ) {
    const next = pos + 4 + readU16(buf, pos + 2);
    if (readU16(buf, pos) === OPTION_EDE) for (let i = pos; i < next; i++) out[at++] = buf[i]!;
    pos = next;
  }
  return out;
}

const QR_BIT = 0x80; // in header byte 2
const TC_BIT = 0x02; // in header byte 2
const MAX_TTL_SEC = 0x7fffffff;
const SOA_TIMERS_LEN = 20; // SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM

function readU16(buf: Uint8Array, pos: number): number {
  return (buf[pos]! << 8) | buf[pos + 1]!;
}

/** A 32-bit TTL; values with the top bit set are read as 0 (RFC 2181 §8). */
function readTtl(buf: Uint8Array, pos: number): number {
  const ttl = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
  return ttl > MAX_TTL_SEC ? 0 : ttl;
}

/**
 * Skips the question's name, which must be uncompressed: it is the first name in the message, so a
 * pointer could only point into the header. Returns the offset past it, or -1.
 */
function skipQuestionName(buf: Uint8Array, offset: number, end: number): number {
  const nameEnd = skipName(buf, offset, end);
  if (nameEnd < 0) return -1;
  let pos = offset;
  while (pos < nameEnd - 1) pos += buf[pos]! + 1;
  // An uncompressed name ends on its root label; a compressed one ends on a 2-byte pointer.
  return pos === nameEnd - 1 && buf[pos] === 0 ? nameEnd : -1;
}

/** The SOA MINIMUM field of the rdata at [start, end), or -1 if the rdata is malformed. */
function soaMinimum(buf: Uint8Array, start: number, end: number): number {
  const mnameEnd = skipName(buf, start, end);
  if (mnameEnd < 0) return -1;
  const rnameEnd = skipName(buf, mnameEnd, end);
  if (rnameEnd < 0 || rnameEnd + SOA_TIMERS_LEN !== end) return -1;
  return readTtl(buf, end - 4);
}

/**
 * Walks an upstream response. Returns undefined when it is malformed: shorter than a header, not a
 * response (QR=0), QDCOUNT other than 1, a compressed question name, a bad or forward-pointing
 * name, a record or rdata running past the end, bytes after the last record, an OPT record outside
 * the additional section / not owned by the root / repeated, or a CNAME or SOA rdata that does not
 * parse exactly.
 */
export function inspectResponse(buf: Uint8Array): ResponseFacts | undefined {
  const end = buf.length;
  if (end < HEADER_LEN) return undefined;
  if ((buf[2]! & QR_BIT) === 0) return undefined;
  if (readU16(buf, 4) !== 1) return undefined;
  const nameEnd = skipQuestionName(buf, HEADER_LEN, end);
  if (nameEnd < 0 || nameEnd + 4 > end) return undefined;
  const questionEnd = nameEnd + 4;

  const rcode = buf[3]! & 0x0f;
  const answerCount = readU16(buf, 6);
  const authorityEnd = answerCount + readU16(buf, 8);
  const total = authorityEnd + readU16(buf, 10);
  const ttlOffsets: number[] = [];
  const cnameTargets: string[] = [];
  const ipv4Offsets: number[] = [];
  const ipv6Offsets: number[] = [];
  let extendedRcode = rcode;
  let sawOpt = false;
  let minTtlSec = -1;
  let soaTtlSec = -1;
  let additionalStart = end;
  let authorityStart = -1;
  let authorityOnlyNs = true;
  let optStart = -1;
  let optEnd = -1;
  let keptOptions: Buffer | undefined;
  let pos = questionEnd;
  for (let i = 0; i < total; i++) {
    const ownerStart = pos;
    if (i === answerCount) authorityStart = pos;
    if (i === authorityEnd) additionalStart = pos;
    const fixedStart = skipName(buf, pos, end); // TYPE, CLASS, TTL, RDLENGTH
    if (fixedStart < 0 || fixedStart + 10 > end) return undefined;
    const type = readU16(buf, fixedStart);
    const rdataStart = fixedStart + 10;
    const rdataEnd = rdataStart + readU16(buf, fixedStart + 8);
    if (rdataEnd > end) return undefined;
    if (i >= answerCount && i < authorityEnd && type !== QTYPE.NS) {
      const coversNs = type === QTYPE.RRSIG && rdataEnd - rdataStart >= 2 && readU16(buf, rdataStart) === QTYPE.NS;
      if (!coversNs) authorityOnlyNs = false;
    }
    if (type === QTYPE.OPT) {
      // RFC 6891 §6.1.1: at most one, in the additional section, owned by the root.
      if (sawOpt || i < authorityEnd || fixedStart !== ownerStart + 1) return undefined;
      sawOpt = true;
      extendedRcode = (buf[fixedStart + 4]! << 4) | rcode;
      optStart = ownerStart;
      optEnd = rdataEnd;
      keptOptions = edeOptions(buf, rdataStart, rdataEnd);
    } else {
      const ttl = readTtl(buf, fixedStart + 4);
      ttlOffsets.push(fixedStart + 4);
      if (minTtlSec < 0 || ttl < minTtlSec) minTtlSec = ttl;
      if (type === QTYPE.CNAME && i < answerCount) {
        if (skipName(buf, rdataStart, rdataEnd) !== rdataEnd) return undefined;
        const target = decodeName(buf, rdataStart, rdataEnd);
        if (target === undefined) return undefined;
        cnameTargets.push(target);
      } else if (i < answerCount && readU16(buf, fixedStart + 2) === QCLASS_IN) {
        const rdataLength = rdataEnd - rdataStart;
        if (type === QTYPE.A && rdataLength === 4) ipv4Offsets.push(rdataStart);
        else if (type === QTYPE.AAAA && rdataLength === 16) ipv6Offsets.push(rdataStart);
      } else if (type === QTYPE.SOA && i >= answerCount && i < authorityEnd) {
        const minimum = soaMinimum(buf, rdataStart, rdataEnd);
        if (minimum < 0) return undefined;
        const negative = Math.min(ttl, minimum);
        if (soaTtlSec < 0 || negative < soaTtlSec) soaTtlSec = negative;
      }
    }
    pos = rdataEnd;
  }
  if (pos !== end) return undefined;

  const isNegative = rcode === RCODE.NXDOMAIN || (rcode === RCODE.NOERROR && answerCount === 0);
  return {
    rcode,
    extendedRcode,
    truncated: (buf[2]! & TC_BIT) !== 0,
    answerCount,
    questionEnd,
    ttlOffsets,
    minTtlSec,
    negativeTtlSec: isNegative ? soaTtlSec : -1,
    cnameTargets,
    ipv4Offsets,
    ipv6Offsets,
    authorityStart: authorityStart < 0 ? Math.min(additionalStart, end) : authorityStart,
    authorityOptional: rcode === RCODE.NOERROR && answerCount > 0 && authorityOnlyNs,
    additionalStart,
    optStart,
    optEnd,
    keptOptions,
  };
}
