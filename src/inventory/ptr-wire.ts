/**
 * Reverse DNS on the wire: the PTR name of an address (in-addr.arpa / ip6.arpa), a PTR query for
 * the upstream pool, and the name read back from an answer. The answer is hostile (an upstream
 * may be spoofed or broken): inspectResponse() checks its structure first, and the PTR rdata is
 * decoded with the bounds-checked name reader.
 */
import { isIP } from 'node:net';
import { ipToBytes } from '../net/address.js';
import { FLAG_RD, HEADER_LEN, QCLASS_IN, QTYPE, RCODE } from '../wire/header.js';
import { inspectResponse } from '../wire/inspect-response.js';
import { decodeName, skipName } from '../wire/name.js';

/** "10.0.0.1" → "1.0.0.10.in-addr.arpa"; IPv6 → its 32 nibbles under ip6.arpa. */
export function ptrName(ip: string): string | undefined {
  const bytes = ipToBytes(ip);
  if (bytes === undefined) return undefined;
  if (isIP(ip) === 4 || bytes.length === 4) return `${[...bytes].reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = bytes.length - 1; i >= 0; i -= 1) {
    const byte = bytes[i] ?? 0;
    nibbles.push((byte & 15).toString(16), (byte >> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** A recursive PTR query for `name` (ID 0: the pool sets its own) and the offset past its question. */
export function buildPtrQuery(name: string): { wire: Buffer; questionEnd: number } {
  const labels = name.split('.').filter((label) => label !== '');
  const nameLength = labels.reduce((sum, label) => sum + label.length + 1, 1);
  const wire = Buffer.alloc(HEADER_LEN + nameLength + 4);
  wire.writeUInt16BE(FLAG_RD, 2);
  wire.writeUInt16BE(1, 4);
  let pos = HEADER_LEN;
  for (const label of labels) {
    wire[pos] = label.length;
    wire.write(label, pos + 1, 'ascii');
    pos += label.length + 1;
  }
  wire[pos] = 0;
  wire.writeUInt16BE(QTYPE.PTR, pos + 1);
  wire.writeUInt16BE(QCLASS_IN, pos + 3);
  return { wire, questionEnd: pos + 5 };
}

export type PtrAnswer =
  | { readonly kind: 'name'; readonly name: string; readonly ttlSec: number }
  /** NXDOMAIN or no PTR record: negative, for ttlSec (-1: the answer gave none). */
  | { readonly kind: 'none'; readonly ttlSec: number }
  /** SERVFAIL, REFUSED or a malformed answer. */
  | { readonly kind: 'failed' };

/** The first PTR name in an answer to buildPtrQuery's question. */
export function readPtrAnswer(response: Buffer): PtrAnswer {
  const facts = inspectResponse(response);
  if (facts === undefined) return { kind: 'failed' };
  if (facts.rcode === RCODE.NXDOMAIN) return { kind: 'none', ttlSec: facts.negativeTtlSec };
  if (facts.rcode !== RCODE.NOERROR) return { kind: 'failed' };
  let pos = facts.questionEnd;
  const end = response.length;
  for (let i = 0; i < facts.answerCount; i += 1) {
    const nameEnd = skipName(response, pos, end);
    if (nameEnd < 0 || nameEnd + 10 > end) return { kind: 'failed' };
    const type = response.readUInt16BE(nameEnd);
    const ttlSec = response.readUInt32BE(nameEnd + 4) & 0x7fffffff;
    const rdLength = response.readUInt16BE(nameEnd + 8);
    const rdata = nameEnd + 10;
    if (rdata + rdLength > end) return { kind: 'failed' };
    if (type === QTYPE.PTR) {
      const name = decodeName(response, rdata, rdata + rdLength);
      if (name !== undefined && name !== '') return { kind: 'name', name, ttlSec };
    }
    pos = rdata + rdLength;
  }
  return { kind: 'none', ttlSec: facts.negativeTtlSec };
}
