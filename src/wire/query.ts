/**
 * The query reader: a bounds-checked read of a query's header, question and OPT record.
 * Nothing here allocates on the read path: results go into a caller-owned ParsedQuery.
 */
import { FLAG_CD, FLAG_QR, HEADER_LEN, MAX_UDP_PAYLOAD, OPCODE_MASK, QTYPE } from './header.js';
import { readQuestionName, skipName } from './name.js';

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
  /**
   * qname followed by QUESTION_KEY_SUFFIX_LEN fixed-width characters (questionKey): made by the same
   * string conversion as qname, so the cache key costs no concatenation per query; '' without a question.
   */
  questionKey: string;
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
  /** The OPT record's rdata (its options) as offsets into the query; both -1 without an OPT. */
  optRdataStart: number;
  optRdataEnd: number;
  /** The client's OPT carries an NSID option (RFC 5001). */
  nsidRequested: boolean;
  /**
   * The NSID this client's OPT carries: set by the resolver after parsing (its `dns.nsid` when
   * asked, else undefined); every answer builder reads it here, so none needs the configuration.
   */
  replyNsid: Buffer | undefined;
}

export function createParsedQuery(): ParsedQuery {
  return {
    id: 0,
    flags: 0,
    qname: '',
    questionKey: '',
    qtype: 0,
    qclass: 0,
    questionEnd: 0,
    hasQuestion: false,
    edns: false,
    udpSize: 512,
    dnssecOk: false,
    checkingDisabled: false,
    optRdataStart: -1,
    optRdataEnd: -1,
    nsidRequested: false,
    replyNsid: undefined,
  };
}

const OPTION_NSID = 3;

/** Whether the option list at [start, end) holds `code` (read up to the first malformed option). */
function hasOption(buf: Buffer, start: number, end: number, code: number): boolean {
  for (let pos = start; pos + 4 <= end; ) {
    if (((buf[pos]! << 8) | buf[pos + 1]!) === code) return true;
    pos += 4 + ((buf[pos + 2]! << 8) | buf[pos + 3]!);
  }
  return false;
}

/** The bits of a question key's last character: answers to DO or CD queries differ from plain ones. */
export const KEY_DO = 2;
export const KEY_CD = 4;
/** qtype (2 characters), qclass (2), DO/CD bits (1): fixed width, so a key reads unambiguously from its end. */
export const QUESTION_KEY_SUFFIX_LEN = 5;

/**
 * The question key: the lower-cased qname, then qtype and qclass as two latin1 characters each
 * (high byte first), then the DO/CD bits. The same string parseQuery leaves in `questionKey`.
 */
export function questionKey(
  qname: string,
  qtype: number,
  qclass: number,
  dnssecOk: boolean,
  checkingDisabled: boolean,
): string {
  const bits = (dnssecOk ? KEY_DO : 0) | (checkingDisabled ? KEY_CD : 0);
  return qname + String.fromCharCode(qtype >>> 8, qtype & 0xff, qclass >>> 8, qclass & 0xff, bits);
}

/** Scratch space for one name's text and the key suffix; module-level is safe because parseQuery never yields. */
const nameScratch = Buffer.allocUnsafe(256 + QUESTION_KEY_SUFFIX_LEN);
const nameResult = { textLen: 0 };

/**
 * Reads a query's header, question and OPT record. Every other section is walked (bounds-checked)
 * so that trailing garbage and truncated records are caught; their contents are not needed.
 * qname and questionKey come from one string conversion of the scratch, once the OPT (DO) is read.
 */
export function parseQuery(buf: Buffer, out: ParsedQuery): ParseOutcome {
  const outcome = readQuery(buf, out);
  if (out.hasQuestion) {
    const textLen = nameResult.textLen;
    const qtype = out.qtype;
    const qclass = out.qclass;
    nameScratch[textLen] = qtype >>> 8;
    nameScratch[textLen + 1] = qtype & 0xff;
    nameScratch[textLen + 2] = qclass >>> 8;
    nameScratch[textLen + 3] = qclass & 0xff;
    nameScratch[textLen + 4] = (out.dnssecOk ? KEY_DO : 0) | (out.checkingDisabled ? KEY_CD : 0);
    const key = nameScratch.toString('latin1', 0, textLen + QUESTION_KEY_SUFFIX_LEN);
    out.questionKey = key;
    out.qname = textLen === 0 ? '' : key.slice(0, textLen);
  }
  return outcome;
}

function readQuery(buf: Buffer, out: ParsedQuery): ParseOutcome {
  const end = buf.length;
  out.hasQuestion = false;
  out.edns = false;
  out.udpSize = 512;
  out.dnssecOk = false;
  out.optRdataStart = -1;
  out.optRdataEnd = -1;
  out.nsidRequested = false;
  out.replyNsid = undefined;
  out.qname = '';
  out.questionKey = '';
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
      out.udpSize = size < 512 ? 512 : Math.min(size, MAX_UDP_PAYLOAD);
      ednsVersion = buf[pos + 5]!;
      out.dnssecOk = ((buf[pos + 6]! << 8) & DO_BIT) !== 0;
      out.optRdataStart = pos + 10;
      out.optRdataEnd = rdataEnd;
      out.nsidRequested = hasOption(buf, pos + 10, rdataEnd, OPTION_NSID);
    }
    pos = rdataEnd;
  }
  if (pos !== end) return PARSE.FORMERR;
  if (ednsVersion !== 0) return PARSE.BADVERS;
  return PARSE.OK;
}
