/**
 * Client EDNS options that must not travel upstream as they came (issue 11 #6): Client Subnet
 * (ECS, option 8) tells the upstream who asked, and its answer is then cached for everyone; a
 * client COOKIE (option 10) belongs to the client–poolsink hop, and the upstream's cookie echoed
 * in its answer would be cached and served to other clients. Runs on the cache-miss path only.
 * Every read is bounds-checked against the OPT rdata the query reader found.
 */
import type { ParsedQuery } from './query.js';

export const OPTION_ECS = 8;
export const OPTION_COOKIE = 10;

/** What leaves for the upstream: `strip` drops ECS and cookies; `forward` keeps ECS (cookies still go). */
export type EcsPolicy = 'strip' | 'forward';

function isDropped(code: number, policy: EcsPolicy): boolean {
  return code === OPTION_COOKIE || (code === OPTION_ECS && policy === 'strip');
}

/**
 * The query to send upstream: `query` itself when its OPT carries nothing to drop, otherwise a
 * copy with those options removed and the OPT's rdata length fixed. A malformed option list (an
 * option running past the rdata) is dropped whole.
 */
export function queryForUpstream(query: Buffer, parsed: ParsedQuery, policy: EcsPolicy): Buffer {
  const start = parsed.optRdataStart;
  const end = parsed.optRdataEnd;
  if (start < 0 || end <= start || end > query.length) return query;
  let dropped = 0;
  let malformed = false;
  for (let pos = start; pos < end; ) {
    if (pos + 4 > end) {
      malformed = true;
      break;
    }
    const code = query.readUInt16BE(pos);
    const next = pos + 4 + query.readUInt16BE(pos + 2);
    if (next > end) {
      malformed = true;
      break;
    }
    if (isDropped(code, policy)) dropped += next - pos;
    pos = next;
  }
  if (!malformed && dropped === 0) return query;
  const keptLen = malformed ? 0 : end - start - dropped;
  const out = Buffer.allocUnsafe(query.length - (end - start) + keptLen);
  query.copy(out, 0, 0, start);
  let at = start;
  if (!malformed) {
    for (let pos = start; pos < end; ) {
      const next = pos + 4 + query.readUInt16BE(pos + 2);
      if (!isDropped(query.readUInt16BE(pos), policy)) at += query.copy(out, at, pos, next);
      pos = next;
    }
  }
  query.copy(out, at, end);
  out.writeUInt16BE(keptLen, start - 2); // the OPT's RDLENGTH, just before its rdata
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
