/**
 * Addresses and CIDRs as IP lists write them (`198.51.100.7`, `203.0.113.0/24`, `2001:db8::/32`),
 * read into network-order bytes and written back in one canonical form: the network address
 * (host bits cleared; RFC 5952 text for IPv6) and the prefix, with a bare address for /32 and
 * /128. Runs when lists are parsed, never per query.
 */
import { isIP } from 'node:net';
import { ipToBytes } from './address.js';

export interface CidrBytes {
  readonly family: 4 | 6;
  /** The network address, host bits cleared: 4 or 16 bytes. */
  readonly bytes: Buffer;
  readonly prefix: number;
  /** Canonical text: `a.b.c.d`, `a.b.c.0/24`, `2001:db8::/32`. */
  readonly text: string;
}

const PREFIX_DIGITS = /^\d{1,3}$/;

/** Reads `address` or `address/prefix`; undefined for anything else (zones, spaces, a bad prefix). */
export function parseCidrText(input: string): CidrBytes | undefined {
  const slash = input.indexOf('/');
  const address = slash >= 0 ? input.slice(0, slash) : input;
  const family = isIP(address);
  if ((family !== 4 && family !== 6) || address.includes('%')) return undefined;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = input.slice(slash + 1);
    if (!PREFIX_DIGITS.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > bits) return undefined;
  }
  const raw = ipToBytes(address);
  if (raw === undefined || raw.length !== bits / 8) return undefined;
  const bytes = maskBytes(raw, prefix);
  return { family, bytes, prefix, text: cidrText(bytes, prefix) };
}

/** A copy of `bytes` with the bits past `prefix` cleared. */
export function maskBytes(bytes: Uint8Array, prefix: number): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (out[i] ?? 0) & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

/** The address at `bytes[offset, offset + length)` (4 or 16) as text; IPv6 in RFC 5952 form. */
export function addressText(bytes: Uint8Array, offset: number, length: number): string {
  if (length === 4) return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
  const hextets: string[] = [];
  for (let i = 0; i < 16; i += 2)
    hextets.push((((bytes[offset + i] ?? 0) << 8) | (bytes[offset + i + 1] ?? 0)).toString(16));
  // The URL parser writes IPv6 hosts in the RFC 5952 canonical form (longest zero run as ::).
  return new URL(`http://[${hextets.join(':')}]/`).hostname.slice(1, -1);
}

/** Canonical text of a network: the bare address for a full-length prefix. */
export function cidrText(bytes: Uint8Array, prefix: number): string {
  const address = addressText(bytes, 0, bytes.length);
  return prefix === bytes.length * 8 ? address : `${address}/${prefix}`;
}
