/**
 * Where list downloads may go. An admin-token holder chooses URL list sources, so without a check
 * the fetcher would reach loopback services, the cloud metadata service (169.254.169.254) and the
 * private network for them. The check runs where the address is final: in the connector, on the
 * address a hostname resolved to (a custom `lookup`, so a second DNS answer cannot swap in a
 * private address: no rebinding) and on an IP literal before any socket opens, on every request,
 * redirects included; and once more on the connected socket's remote address.
 *
 * Refused by default: unspecified, loopback, link-local, private (RFC 1918), shared (CGNAT
 * 100.64/10), multicast and reserved IPv4; unspecified, loopback, link-local, ULA and multicast
 * IPv6; IPv4-mapped and NAT64 forms of refused IPv4 addresses. Exceptions (`lists.allowPrivateSources`)
 * are CIDRs (the resolved address) or hostnames (the URL's host, any address).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction, Socket } from 'node:net';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { PoolsinkError } from '../errors.js';
import { ipToBigInt, parseCidr, type Cidr } from '../net/address.js';

const REFUSED_V4: readonly (readonly [Cidr, string])[] = cidrTable([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

const REFUSED_V6: readonly (readonly [Cidr, string])[] = cidrTable([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['fc00::/7', 'unique local'],
  ['ff00::/8', 'multicast'],
]);

/** IPv6 prefixes that carry an IPv4 address in their low 32 bits: IPv4-mapped, NAT64. */
const EMBEDS_V4: readonly Cidr[] = ['::ffff:0:0/96', '64:ff9b::/96'].map(cidrOf);

function cidrOf(text: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr === undefined) throw new Error(`bad built-in CIDR ${text}`);
  return cidr;
}

function cidrTable(rows: readonly (readonly [string, string])[]): readonly (readonly [Cidr, string])[] {
  return rows.map(([text, kind]): readonly [Cidr, string] => [cidrOf(text), kind]);
}

function contains(cidr: Cidr, family: 4 | 6, value: bigint): boolean {
  if (cidr.family !== family) return false;
  const hostBits = BigInt((family === 4 ? 32 : 128) - cidr.prefix);
  return value >> hostBits === cidr.network >> hostBits;
}

export interface DestinationPolicy {
  /** Undefined when `address` may be connected to for `hostname`; otherwise why not. */
  refusal(hostname: string, address: string): string | undefined;
}

/** The built-in ranges, checked once per connection (not on any query path). */
export function refusedRange(address: string): string | undefined {
  const family = isIP(address);
  const value = ipToBigInt(address);
  if (value === undefined || (family !== 4 && family !== 6)) return 'not an IP address';
  if (family === 4) {
    for (const [cidr, kind] of REFUSED_V4) if (contains(cidr, 4, value)) return kind;
    return undefined;
  }
  for (const cidr of EMBEDS_V4) {
    if (contains(cidr, 6, value)) {
      const v4 = value & 0xffffffffn;
      const dotted = [24n, 16n, 8n, 0n].map((shift) => String((v4 >> shift) & 0xffn)).join('.');
      const inner = refusedRange(dotted);
      return inner === undefined ? undefined : `${inner} (IPv4 in IPv6)`;
    }
  }
  for (const [cidr, kind] of REFUSED_V6) if (contains(cidr, 6, value)) return kind;
  return undefined;
}

function bareHost(hostname: string): string {
  const unbracketed = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return unbracketed.toLowerCase().replace(/\.$/, '');
}

const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** Why an allowPrivateSources entry is unusable, or undefined for a CIDR or a hostname (`localhost` too). */
export function allowEntryProblem(entry: string): string | undefined {
  if (parseCidr(entry) !== undefined || HOSTNAME.test(entry)) return undefined;
  return `${JSON.stringify(entry)} is neither a CIDR nor a hostname`;
}

/** Throws ERR_CONFIG_INVALID naming `option` for an entry that is neither a CIDR nor a hostname. */
export function createDestinationPolicy(
  allow: readonly string[],
  option = 'lists.allowPrivateSources',
): DestinationPolicy {
  const cidrs: Cidr[] = [];
  const hosts = new Set<string>();
  for (const entry of allow) {
    const cidr = parseCidr(entry);
    if (cidr !== undefined) {
      cidrs.push(cidr);
      continue;
    }
    const problem = allowEntryProblem(entry);
    if (problem !== undefined) throw new PoolsinkError('ERR_CONFIG_INVALID', `${option}: ${problem}`);
    hosts.add(bareHost(entry));
  }
  return {
    refusal(hostname, address) {
      if (hosts.has(bareHost(hostname))) return undefined;
      const family = isIP(address);
      const value = ipToBigInt(address);
      if (value !== undefined && (family === 4 || family === 6) && cidrs.some((c) => contains(c, family, value)))
        return undefined;
      const range = refusedRange(address);
      return range === undefined ? undefined : `${address} is a ${range} address (lists.allowPrivateSources)`;
    },
  };
}

/** Code of the error a refused destination fails the connection with (seen in the log only). */
export const DESTINATION_REFUSED = 'POOLSINK_DESTINATION_REFUSED';

function refusedError(hostname: string, reason: string): Error {
  return Object.assign(new Error(`destination ${bareHost(hostname)} refused: ${reason}`), {
    code: DESTINATION_REFUSED,
  });
}

/** A `lookup` for net.connect that fails when any address the name resolves to is refused. */
export function guardedLookup(policy: DestinationPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) {
        callback(err, '', 0);
        return;
      }
      for (const { address } of addresses) {
        const reason = policy.refusal(hostname, address);
        if (reason !== undefined) {
          callback(refusedError(hostname, reason), '', 0);
          return;
        }
      }
      const first = addresses[0];
      if (options.all === true) callback(null, addresses);
      else if (first === undefined) callback(refusedError(hostname, 'no address'), '', 0);
      else callback(null, first.address, first.family);
    });
  };
}

/**
 * An undici connector that checks every destination: IP literals before connecting (net.connect
 * does not call lookup for them), names in `lookup`, and the socket's peer once connected.
 */
export function guardedConnector(policy: DestinationPolicy, timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs, lookup: guardedLookup(policy) });
  return (options, callback) => {
    const host = bareHost(options.hostname);
    const literalRefusal = isIP(host) !== 0 ? policy.refusal(host, host) : undefined;
    if (literalRefusal !== undefined) {
      callback(refusedError(host, literalRefusal), null);
      return;
    }
    connect(options, (err, socket) => {
      if (err !== null) {
        callback(err, null);
        return;
      }
      const peer = peerRefusal(policy, options.hostname, socket);
      if (peer !== undefined) {
        socket.destroy();
        callback(refusedError(host, peer), null);
        return;
      }
      callback(null, socket);
    });
  };
}

function peerRefusal(policy: DestinationPolicy, hostname: string, socket: Socket): string | undefined {
  const address = socket.remoteAddress;
  return address === undefined ? 'no peer address' : policy.refusal(hostname, address);
}

/** Why a redirect from `from` to `to` is not followed, or undefined: http(s) only, never https → http. */
export function redirectRefusal(from: URL, to: URL): string | undefined {
  if (to.protocol !== 'http:' && to.protocol !== 'https:') return `redirect to a ${to.protocol} URL`;
  if (from.protocol === 'https:' && to.protocol === 'http:') return 'redirect from https to http';
  return undefined;
}
