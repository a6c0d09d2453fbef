/**
 * The query-side wire code: a bounds-checked reader for a query's header, question and OPT record,
 * and builders for the answers poolsink makes itself (errors, blocks, truncation).
 * Nothing here allocates on the read path: results go into a caller-owned ParsedQuery.
 */
import { readQuestionName, skipName } from './name.js';

export const HEADER_LEN = 12;
export const MAX_UDP_PAYLOAD = 4096;
/** The payload size poolsink advertises in its own OPT records (DNS flag day 2020). */
export const ADVERTISED_UDP_PAYLOAD = 1232;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

export const QTYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  DNAME: 39,
  RRSIG: 46,
  DNSKEY: 48,
  HTTPS: 65,
  ANY: 255,
} as const;

export const QCLASS_IN = 1;

/** Extended DNS Error info codes (RFC 8914) that poolsink sends. */
export const EDE = {
  STALE_ANSWER: 3,
  BLOCKED: 15,
  PROHIBITED: 18,
  NOT_READY: 14,
  NO_REACHABLE_AUTHORITY: 22,
} as const;

// Header flag bits (second 16-bit word).
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;
const OPCODE_MASK = 0x7800;
const DO_BIT = 0x8000;

/** How a query parse ended. Numbers, not strings or exceptions: this runs for every packet. */
export const PARSE = {
  OK: 0,
  /** Not worth an answer: too short to carry an ID, or a response (QR=1). Count and drop. */
  DROP: 1,
  FORMERR: 2,
  NOTIMP: 3,
  BADVERS: 4,
} as const;
export type ParseOutcome = (typeof PARSE)[keyof typeof PARSE];

/** A caller-owned record that parseQuery fills in; reuse one per listener. */
export interface ParsedQuery {
  id: number;
  flags: number;
  /** Lower-case dotted name without the trailing dot; '' for the root. */
  qname: string;
  qtype: number;
  qclass: number;
  /** Offset just past the question: bytes 12..questionEnd are copied into every answer. */
  questionEnd: number;
  /** True when the question section was read (so an error answer can echo it). */
  hasQuestion: boolean;
  edns: boolean;
  /** The client's advertised UDP payload size, at least 512 and at most MAX_UDP_PAYLOAD. */
  udpSize: number;
  dnssecOk: boolean;
  checkingDisabled: boolean;
}

export function createParsedQuery(): ParsedQuery {
  return {
    id: 0,
    flags: 0,
    qname: '',
    qtype: 0,
    qclass: 0,
    questionEnd: 0,
    hasQuestion: false,
    edns: false,
    udpSize: 512,
    dnssecOk: false,
    checkingDisabled: false,
  };
}

/** Scratch space for one name's text; module-level is safe because parseQuery never yields. */
const nameScratch = Buffer.allocUnsafe(256);
const nameResult = { textLen: 0 };

/**
 * Reads a query's header, question and OPT record. Every other section is walked (bounds-checked)
 * so that trailing garbage and truncated records are caught; their contents are not needed.
 */
export function parseQuery(buf: Buffer, out: ParsedQuery): ParseOutcome {
  const end = buf.length;
  out.hasQuestion = false;
  out.edns = false;
  out.udpSize = 512;
  out.dnssecOk = false;
  out.qname = '';
  if (end < HEADER_LEN) return PARSE.DROP;
  const flags = (buf[2]! << 8) | buf[3]!;
  out.id = (buf[0]! << 8) | buf[1]!;
  out.flags = flags;
  out.checkingDisabled = (flags & FLAG_CD) !== 0;
  if ((flags & FLAG_QR) !== 0) return PARSE.DROP;
  if ((flags & OPCODE_MASK) !== 0) return PARSE.NOTIMP;
  const qdcount = (buf[4]! << 8) | buf[5]!;
  if (qdcount !== 1) return PARSE.FORMERR;

  const nameEnd = readQuestionName(buf, HEADER_LEN, end, nameScratch, nameResult);
  if (nameEnd < 0 || nameEnd + 4 > end) return PARSE.FORMERR;
  out.qname = nameResult.textLen === 0 ? '' : nameScratch.toString('latin1', 0, nameResult.textLen);
  out.qtype = (buf[nameEnd]! << 8) | buf[nameEnd + 1]!;
  out.qclass = (buf[nameEnd + 2]! << 8) | buf[nameEnd + 3]!;
  out.questionEnd = nameEnd + 4;
  out.hasQuestion = true;

  const ancount = (buf[6]! << 8) | buf[7]!;
  const nscount = (buf[8]! << 8) | buf[9]!;
  const arcount = (buf[10]! << 8) | buf[11]!;
  let pos = out.questionEnd;
  const total = ancount + nscount + arcount;
  let ednsVersion = 0;
  for (let i = 0; i < total; i++) {
    const ownerStart = pos;
    pos = skipName(buf, pos, end);
    if (pos < 0 || pos + 10 > end) return PARSE.FORMERR;
    const type = (buf[pos]! << 8) | buf[pos + 1]!;
    const rdlen = (buf[pos + 8]! << 8) | buf[pos + 9]!;
    const rdataEnd = pos + 10 + rdlen;
    if (rdataEnd > end) return PARSE.FORMERR;
    if (type === QTYPE.OPT) {
      // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
      if (out.edns || i < ancount + nscount || pos !== ownerStart + 1 || buf[ownerStart] !== 0) {
        return PARSE.FORMERR;
      }
      out.edns = true;
      const size = (buf[pos + 2]! << 8) | buf[pos + 3]!;
      out.udpSize = size < 512 ? 512 : size > MAX_UDP_PAYLOAD ? MAX_UDP_PAYLOAD : size;
      ednsVersion = buf[pos + 5]!;
      out.dnssecOk = ((buf[pos + 6]! << 8) & DO_BIT) !== 0;
    }
    pos = rdataEnd;
  }
  if (pos !== end) return PARSE.FORMERR;
  if (ednsVersion !== 0) return PARSE.BADVERS;
  return PARSE.OK;
}

/** Flags of an answer to `queryFlags`: QR and RA set, opcode, RD and CD echoed, the rcode's low bits. */
export function answerFlags(queryFlags: number, rcode: number): number {
  return FLAG_QR | FLAG_RA | (queryFlags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | (rcode & 0x0f);
}

export function readId(buf: Uint8Array): number {
  return (buf[0]! << 8) | buf[1]!;
}

export function writeId(buf: Uint8Array, id: number): void {
  buf[0] = id >>> 8;
  buf[1] = id & 0xff;
}

export function readRcode(buf: Uint8Array): number {
  return buf[3]! & 0x0f;
}

export function isTruncated(buf: Uint8Array): boolean {
  return (buf[2]! & (FLAG_TC >>> 8)) !== 0;
}

/** Size of an OPT record that carries `edeTextLen` bytes of EDE text (or no EDE when -1). */
function optLen(edeTextLen: number): number {
  return 11 + (edeTextLen >= 0 ? 6 + edeTextLen : 0);
}

/**
 * Writes an OPT record (RFC 6891) at `pos`, echoing the DO bit, with the upper rcode bits and an
 * optional Extended DNS Error. Returns the offset past it.
 */
function writeOpt(
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

function writeHeader(
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
  writeHeader(
    out,
    parsed.id,
    answerFlags(parsed.flags, rcode),
    parsed.hasQuestion ? 1 : 0,
    0,
    0,
    withOpt ? 1 : 0,
  );
  if (qEnd > HEADER_LEN) query.copy(out, HEADER_LEN, HEADER_LEN, qEnd);
  if (withOpt) writeOpt(out, qEnd, rcode, parsed.dnssecOk, edeCode, edeText);
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

/** The answers a block can give; the configuration's `block.response` choices. */
export const BLOCK_RESPONSES = ['nxdomain', 'nodata', 'null', 'refused', 'sinkhole'] as const;
export type BlockResponseKind = (typeof BLOCK_RESPONSES)[number];

/** Everything a block answer needs that does not change per query; built once per configuration. */
export interface BlockAnswerTemplate {
  readonly kind: BlockResponseKind;
  readonly ttlSec: number;
  /** SOA rdata (MNAME, RNAME, serial, timers, minimum) placed in the authority section. */
  readonly soaRdata: Buffer;
  readonly ipv4: Buffer;
  readonly ipv6: Buffer;
}

function encodeName(name: string): Buffer {
  const labels = name.split('.').filter((label) => label.length > 0);
  const parts: number[] = [];
  for (const label of labels) {
    parts.push(label.length);
    for (let i = 0; i < label.length; i++) parts.push(label.charCodeAt(i));
  }
  parts.push(0);
  return Buffer.from(parts);
}

export function createBlockAnswerTemplate(options: {
  kind: BlockResponseKind;
  ttlSec: number;
  sinkholeIpv4: Buffer;
  sinkholeIpv6: Buffer;
}): BlockAnswerTemplate {
  const mname = encodeName('poolsink.invalid');
  const rname = encodeName('blocked.poolsink.invalid');
  const timers = Buffer.alloc(20);
  timers.writeUInt32BE(1, 0); // serial
  timers.writeUInt32BE(3600, 4); // refresh
  timers.writeUInt32BE(600, 8); // retry
  timers.writeUInt32BE(86400, 12); // expire
  timers.writeUInt32BE(options.ttlSec, 16); // minimum: the negative-caching TTL (RFC 2308)
  const isNull = options.kind === 'null';
  return Object.freeze({
    kind: options.kind,
    ttlSec: options.ttlSec,
    soaRdata: Buffer.concat([mname, rname, timers]),
    ipv4: isNull ? Buffer.alloc(4) : options.sinkholeIpv4,
    ipv6: isNull ? Buffer.alloc(16) : options.sinkholeIpv6,
  });
}

/** EDE text for a block by `listName`, cached so the block path does not encode it per query. */
export function blockReasonText(listName: string): Buffer {
  return Buffer.from(`blocked by poolsink list ${listName}`, 'utf8');
}

/**
 * The answer to a blocked query, per the configured response kind. Owner names point back at the
 * question (0xC00C), so the answer costs one buffer and a few copies.
 */
export function buildBlockResponse(
  query: Buffer,
  parsed: ParsedQuery,
  template: BlockAnswerTemplate,
  edeText: Buffer,
): Buffer {
  const kind = template.kind;
  if (kind === 'refused') {
    return buildErrorResponse(query, parsed, RCODE.REFUSED, EDE.BLOCKED, edeText);
  }
  let address: Buffer | undefined;
  if (kind === 'null' || kind === 'sinkhole') {
    if (parsed.qtype === QTYPE.A) address = template.ipv4;
    else if (parsed.qtype === QTYPE.AAAA) address = template.ipv6;
  }
  const rcode = kind === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR;
  const qEnd = parsed.questionEnd;
  const recordLen = address !== undefined ? 12 + address.length : 12 + template.soaRdata.length;
  const edeLen = parsed.edns ? optLen(edeText.length) : 0;
  const out = Buffer.allocUnsafe(qEnd + recordLen + edeLen);
  writeHeader(
    out,
    parsed.id,
    answerFlags(parsed.flags, rcode),
    1,
    address !== undefined ? 1 : 0,
    address !== undefined ? 0 : 1,
    parsed.edns ? 1 : 0,
  );
  query.copy(out, HEADER_LEN, HEADER_LEN, qEnd);
  let pos = qEnd;
  out[pos] = 0xc0;
  out[pos + 1] = HEADER_LEN;
  if (address !== undefined) {
    out.writeUInt16BE(parsed.qtype, pos + 2);
    out.writeUInt16BE(QCLASS_IN, pos + 4);
    out.writeUInt32BE(template.ttlSec, pos + 6);
    out.writeUInt16BE(address.length, pos + 10);
    pos += 12;
    pos += address.copy(out, pos);
  } else {
    out.writeUInt16BE(QTYPE.SOA, pos + 2);
    out.writeUInt16BE(QCLASS_IN, pos + 4);
    out.writeUInt32BE(template.ttlSec, pos + 6);
    out.writeUInt16BE(template.soaRdata.length, pos + 10);
    pos += 12;
    pos += template.soaRdata.copy(out, pos);
  }
  if (parsed.edns) writeOpt(out, pos, rcode, parsed.dnssecOk, EDE.BLOCKED, edeText);
  return out;
}
