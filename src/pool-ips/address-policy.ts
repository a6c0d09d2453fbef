/**
 * Which resolved addresses may become learned pool IPs. Never: addresses that are not on the
 * public internet (private, loopback, link-local, CGNAT, multicast, reserved, unspecified,
 * benchmarking, IPv4-mapped and NAT64 forms of those), nor the published ranges of the big shared
 * CDNs, where one address serves thousands of unrelated sites: blocking a pool fronted by
 * Cloudflare would block everything else on that edge. The operator adds more with
 * `poolIps.exclude`.
 *
 * The CDN ranges are a small, documented snapshot of the providers' own published lists (Cloudflare
 * https://www.cloudflare.com/ips/, Fastly's public IP list, and the Akamai ranges commonly listed in
 * Akamai's origin-allowlisting guidance); they change rarely, and poolIps.exclude covers the rest.
 * The TEST-NET documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)
 * are not excluded: the tests learn them, and they never occur in real answers.
 */
import { parseCidrText } from '../net/cidr-text.js';
import { createIpSetBuilder, type IpSet } from '../net/ip-set.js';

const NOT_PUBLIC: readonly string[] = [
  '0.0.0.0/8', // "this network", unspecified
  '10.0.0.0/8',
  '100.64.0.0/10', // CGNAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local
  '172.16.0.0/12',
  '192.0.0.0/24', // IETF protocol assignments
  '192.168.0.0/16',
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
  '::/128',
  '::1/128',
  '::ffff:0:0/96', // IPv4-mapped: the IPv4 answer is what counts
  '64:ff9b::/96', // NAT64
  '100::/64', // discard-only
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'ff00::/8', // multicast
];

const SHARED_CDN: readonly string[] = [
  // Cloudflare
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
  '2400:cb00::/32',
  '2606:4700::/32',
  '2803:f800::/32',
  '2405:b500::/32',
  '2405:8100::/32',
  '2a06:98c0::/29',
  '2c0f:f248::/32',
  // Fastly
  '23.235.32.0/20',
  '43.249.72.0/22',
  '103.244.50.0/24',
  '103.245.222.0/23',
  '103.245.224.0/24',
  '104.156.80.0/20',
  '140.248.64.0/18',
  '140.248.128.0/17',
  '146.75.0.0/17',
  '151.101.0.0/16',
  '157.52.64.0/18',
  '167.82.0.0/17',
  '172.111.64.0/18',
  '185.31.16.0/22',
  '199.27.72.0/21',
  '199.232.0.0/16',
  '2a04:4e40::/32',
  '2a04:4e42::/32',
  // Akamai (main edge ranges)
  '2.16.0.0/13',
  '23.0.0.0/12',
  '23.32.0.0/11',
  '23.64.0.0/14',
  '23.192.0.0/11',
  '96.16.0.0/15',
  '104.64.0.0/10',
  '184.24.0.0/13',
  '184.50.0.0/15',
  '184.84.0.0/14',
  '2600:1400::/24',
  '2a02:26f0::/29',
];

const REASONS = ['not a public address', 'a shared CDN range', 'excluded by poolIps.exclude'] as const;
export type ExclusionReason = (typeof REASONS)[number];

export interface AddressPolicy {
  /** Why `address` must not be learned, or undefined when it may be. Text that is no address is refused too. */
  exclusion(address: string): ExclusionReason | undefined;
}

export function createAddressPolicy(exclude: readonly string[] = []): AddressPolicy {
  const builder = createIpSetBuilder();
  const groups: readonly (readonly string[])[] = [NOT_PUBLIC, SHARED_CDN, exclude];
  groups.forEach((cidrs, tag) => {
    for (const text of cidrs) {
      const cidr = parseCidrText(text.trim());
      if (cidr !== undefined) builder.add(cidr, tag);
    }
  });
  const set: IpSet = builder.build();
  return {
    exclusion(address) {
      const tag = set.matchText(address);
      if (tag >= 0) return REASONS[tag];
      return parseCidrText(address) === undefined ? REASONS[0] : undefined;
    },
  };
}
