/**
 * The DNS header: section layout constants, RCODE/QTYPE/EDE numbers, flag bits, and readers and
 * writers for single header fields. No allocation: these run for every packet.
 */
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
export const OPCODE_MASK = 0x7800;

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
