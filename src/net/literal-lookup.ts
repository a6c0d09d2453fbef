/**
 * A `lookup` for dgram sockets that answers IP literals at once. Given an address string, dgram
 * calls its lookup on every send and bind; the default (dns.lookup) answers a literal one tick
 * later, through a regex and a queued callback. poolsink only ever sends to literals (client
 * addresses from recvmsg, configured upstream addresses), so this saves that work per datagram;
 * anything else still goes to dns.lookup.
 */
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { isIPv4 } from './ip-literal.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

export function literalLookup(hostname: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  if (isIPv4(hostname, 0, hostname.length)) {
    callback(null, hostname, 4);
    return;
  }
  if (hostname.includes(':') && isIP(hostname) === 6) {
    callback(null, hostname, 6);
    return;
  }
  // dgram passes the socket's family as a number; dns.lookup takes it that way too.
  dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}
