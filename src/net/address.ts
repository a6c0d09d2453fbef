/**
 * Parsing of the address forms the configuration uses: "host:port", "[v6]:port" and CIDRs.
 * Pure functions returning undefined for bad input; the config layer turns that into a message.
 */
import { isIP } from 'node:net';

export interface HostPort {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** Parses "1.2.3.4:53", "[::1]:53", or a bare address with `defaultPort`. */
export function parseHostPort(text: string, defaultPort?: number): HostPort | undefined {
  let host = text.trim();
  let portText: string | undefined;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return undefined;
    const rest = host.slice(close + 1);
    host = host.slice(1, close);
    if (rest !== '') {
      if (!rest.startsWith(':')) return undefined;
      portText = rest.slice(1);
    }
  } else if (isIP(host) === 6) {
    portText = undefined;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      portText = host.slice(colon + 1);
      host = host.slice(0, colon);
    }
  }
  const family = isIP(host);
  if (family !== 4 && family !== 6) return undefined;
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
  }
  if (port === undefined || port < 0 || port > 65535) return undefined;
  return { host, port, family };
}

export function formatHostPort(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address as 32-bit (v4) or 128-bit (v6) integer. */
  readonly network: bigint;
  readonly prefix: number;
  readonly text: string;
}

export function ipToBigInt(address: string): bigint | undefined {
  const family = isIP(address);
  if (family === 4) {
    let value = 0n;
    for (const part of address.split('.')) value = (value << 8n) | BigInt(Number(part));
    return value;
  }
  if (family !== 6) return undefined;
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipToBigInt(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] === '' || halves[0] === undefined ? [] : halves[0].split(':');
  const rest = halves.length > 1 && halves[1] !== '' && halves[1] !== undefined ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  const hextets = [...head, ...new Array<string>(halves.length > 1 ? missing : 0).fill('0'), ...rest];
  if (hextets.length !== 8) return undefined;
  let value = 0n;
  for (const h of hextets) value = (value << 16n) | BigInt(parseInt(h, 16));
  return value;
}

/** Parses "10.0.0.0/8", "fc00::/7" or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
  const family = isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > bits) return undefined;
  }
  const value = ipToBigInt(address);
  if (value === undefined) return undefined;
  const hostBits = BigInt(bits - prefix);
  const network = (value >> hostBits) << hostBits;
  return { family, network, prefix, text: trimmed };
}

/** The address as network-order bytes (4 or 16), for writing A/AAAA rdata. */
export function ipToBytes(address: string): Buffer | undefined {
  const family = isIP(address);
  const value = ipToBigInt(address);
  if (value === undefined || family === 0) return undefined;
  const out = Buffer.alloc(family === 4 ? 4 : 16);
  let rest = value;
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Whether an IP literal is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopbackAddress(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family !== 6) return false;
  const value = ipToBigInt(host);
  return value === 1n || (value !== undefined && value >> 24n === 0xffff7fn);
}
