/**
 * The query poolsink sends upstream (issues 11 #6 and 17): the client's header and question, then
 * poolsink's own OPT record whatever the client sent (or if it sent none): its own payload size
 * (`dns.upstreamUdpSize`), so the answer cached does not depend on one client's buffer; the DO bit
 * as the client asked (DO is part of the cache key); no option of the client's (its COOKIE and
 * NSID belong to the client–poolsink hop) except Client Subnet under `dns.ecs: forward`.
 * Runs on the cache-miss path only. Every read is bounds-checked against the OPT rdata the query
 * reader found.
 */
import { QTYPE } from './header.js';
import type { ParsedQuery } from './query.js';

export const OPTION_ECS = 8;
export const OPTION_COOKIE = 10;

/** What leaves for the upstream: `strip` drops ECS; `forward` keeps it. Nothing else ever goes. */
export type EcsPolicy = 'strip' | 'forward';

const DO_FLAG = 0x80; // in the OPT TTL's third byte

/** The client's ECS option as [start, end) offsets into the query; -1 when none (or malformed). */
function findEcs(query: Buffer, parsed: ParsedQuery): number {
  const start = parsed.optRdataStart;
  const end = parsed.optRdataEnd;
  for (let pos = start; start >= 0 && pos + 4 <= end; ) {
    const next = pos + 4 + query.readUInt16BE(pos + 2);
    if (next > end) return -1;
    if (query.readUInt16BE(pos) === OPTION_ECS) return pos;
    pos = next;
  }
  return -1;
}

export function queryForUpstream(query: Buffer, parsed: ParsedQuery, policy: EcsPolicy, udpSize: number): Buffer {
  const qEnd = parsed.questionEnd;
  const ecsAt = policy === 'forward' ? findEcs(query, parsed) : -1;
  const ecsLen = ecsAt < 0 ? 0 : 4 + query.readUInt16BE(ecsAt + 2);
  const out = Buffer.allocUnsafe(qEnd + 11 + ecsLen);
  query.copy(out, 0, 0, qEnd);
  out.writeUInt16BE(0, 6); // ANCOUNT
  out.writeUInt16BE(0, 8); // NSCOUNT
  out.writeUInt16BE(1, 10); // ARCOUNT: the OPT
  out[qEnd] = 0; // root owner
  out.writeUInt16BE(QTYPE.OPT, qEnd + 1);
  out.writeUInt16BE(udpSize, qEnd + 3);
  out.writeUInt32BE(0, qEnd + 5); // extended rcode, version 0, flags
  if (parsed.dnssecOk) out[qEnd + 7] = DO_FLAG;
  out.writeUInt16BE(ecsLen, qEnd + 9);
  if (ecsLen > 0) query.copy(out, qEnd + 11, ecsAt, ecsAt + ecsLen);
  return out;
}

/**
 * The cache-key suffix for `dns.ecs: forward`: the client's ECS option bytes, then their length as
 * the last character, so a key still reads unambiguously from its end. Empty ECS: one character.
 */
export function ecsKeySuffix(query: Buffer, parsed: ParsedQuery): string {
  const start = parsed.optRdataStart;
  const end = parsed.optRdataEnd;
  for (let pos = start; start >= 0 && pos + 4 <= end; ) {
    const len = query.readUInt16BE(pos + 2);
    if (pos + 4 + len > end) break;
    if (query.readUInt16BE(pos) === OPTION_ECS) {
      return query.toString('latin1', pos + 4, pos + 4 + len) + String.fromCharCode(len);
    }
    pos += 4 + len;
  }
  return String.fromCharCode(0);
}
