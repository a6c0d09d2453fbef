/**
 * Block answers: the per-configuration template (response kind, TTL, SOA, sinkhole addresses) and
 * the per-query builder, which costs one buffer and a few copies.
 */
import { optLen, buildErrorResponse, writeHeader, writeOpt } from './answer.js';
import { EDE, HEADER_LEN, QCLASS_IN, QTYPE, RCODE, answerFlags } from './header.js';
import type { ParsedQuery } from './query.js';

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
  // Block answers hold IN-class records; a blocked name asked in another class (CH, HS, ANY) is
  // refused rather than answered with IN data for a question that did not ask for it (issue 17).
  if (kind === 'refused' || parsed.qclass !== QCLASS_IN) {
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
  const edeLen = parsed.edns ? optLen(parsed, edeText.length) : 0;
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
  // Byte loops and set(), not Buffer#copy / writeUInt*BE: their argument checks cost more than these few bytes.
  for (let i = HEADER_LEN; i < qEnd; i++) out[i] = query[i]!;
  const rdata = address ?? template.soaRdata;
  const rrtype = address !== undefined ? parsed.qtype : QTYPE.SOA;
  const ttlSec = template.ttlSec;
  let pos = qEnd;
  out[pos] = 0xc0;
  out[pos + 1] = HEADER_LEN;
  out[pos + 2] = rrtype >>> 8;
  out[pos + 3] = rrtype & 0xff;
  out[pos + 4] = QCLASS_IN >>> 8;
  out[pos + 5] = QCLASS_IN & 0xff;
  out[pos + 6] = ttlSec >>> 24;
  out[pos + 7] = (ttlSec >>> 16) & 0xff;
  out[pos + 8] = (ttlSec >>> 8) & 0xff;
  out[pos + 9] = ttlSec & 0xff;
  out[pos + 10] = rdata.length >>> 8;
  out[pos + 11] = rdata.length & 0xff;
  pos += 12;
  out.set(rdata, pos);
  pos += rdata.length;
  if (parsed.edns) writeOpt(out, pos, parsed, rcode, EDE.BLOCKED, edeText);
  return out;
}
