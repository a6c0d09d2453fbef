/**
 * Matching many client addresses (as the block log stores them: dotted IPv4, canonical IPv6)
 * against one CIDR: the CIDR is parsed once, each IPv4 address is read as a 32-bit number without
 * building substrings; IPv6 goes through ipToBigInt. For the CIDR's own parsing see address.ts.
 */
import { ipToBigInt, type Cidr } from './address.js';

const DIGIT_0 = 48;
const DOT = 46; // .
const COLON = 58; // :

/** A dotted-quad IPv4 address as an unsigned 32-bit number, or -1. */
function ipv4Number(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      const digit = c - DIGIT_0;
      if (digit < 0 || digit > 9 || digits === 3) return -1;
      part = part * 10 + digit;
      digits++;
      if (part > 255) return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + part;
}

function hasColon(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === COLON) return true;
  return false;
}

/** Whether an address lies in `cidr`; addresses of the other family (and bad text) never do. */
export function createCidrMatcher(cidr: Cidr): (address: string) => boolean {
  if (cidr.family === 4) {
    const size = 2 ** (32 - cidr.prefix);
    const network = Number(cidr.network);
    return (address) => {
      const value = ipv4Number(address);
      return value >= network && value < network + size;
    };
  }
  const hostBits = BigInt(128 - cidr.prefix);
  const network = cidr.network >> hostBits;
  return (address) => {
    if (!hasColon(address)) return false;
    const value = ipToBigInt(address);
    return value !== undefined && value >> hostBits === network;
  };
}

/**
 * A text prefix every address of an IPv4 `cidr` starts with in dotted form ("10.0.3." for
 * 10.0.3.0/24), so a text index can narrow the candidates; "" when none helps (IPv6, or /0 to /7).
 */
export function dottedPrefixOf(cidr: Cidr): string {
  if (cidr.family !== 4) return '';
  // At most three octets: the fourth is followed by nothing, not a dot.
  const octets = Math.min(3, Math.floor(cidr.prefix / 8));
  let text = '';
  for (let i = 0; i < octets; i++) text += `${Number((cidr.network >> BigInt(24 - 8 * i)) & 0xffn)}.`;
  return text;
}
