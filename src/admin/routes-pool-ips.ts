/** GET /api/v1/pool-ips: the pool IP feed (ip lists and learned addresses) for egress firewalls. */
import { Type } from '@sinclair/typebox';
import { stringEnum } from '../config/schema-types.js';
import type { PoolIpFeed } from '../pool-ips/feed.js';
import { POOL_IP_FORMATS, formatPoolIps } from '../pool-ips/export-formats.js';
import { errorResponses } from './openapi.js';
import { json, withQuery, type Route } from './route-types.js';

export interface PoolIpRouteDeps {
  /** Absent: the feed is empty. */
  readonly poolIps?: PoolIpFeed;
}

const EMPTY_FEED: PoolIpFeed = { entries: () => [] };

const ENTRY_SCHEMA = {
  type: 'object',
  required: ['address', 'family', 'list', 'mode', 'source', 'name', 'names', 'firstSeen', 'lastSeen'],
  properties: {
    address: { type: 'string', description: 'An address or CIDR, canonical text' },
    family: { type: 'integer', enum: [4, 6] },
    list: { type: 'string', description: 'The ip list that has it, or learned-pool-ips' },
    mode: { type: 'string', enum: ['block', 'alert'] },
    source: { type: 'string', enum: ['list', 'learned'] },
    name: { type: ['string', 'null'], description: 'Learned: the name last seen resolving to it' },
    names: { type: 'array', items: { type: 'string' }, description: 'Learned: every name seen resolving to it' },
    firstSeen: { type: ['string', 'null'], format: 'date-time' },
    lastSeen: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export function createPoolIpRoutes(deps: PoolIpRouteDeps): Route[] {
  const feed = deps.poolIps ?? EMPTY_FEED;
  return [
    withQuery({
      method: 'GET',
      path: '/api/v1/pool-ips',
      auth: 'token',
      query: Type.Object({
        format: stringEnum(POOL_IP_FORMATS, {
          default: 'json',
          description:
            'json; text (an ip list); nftables (nft -f input); iptables (ipset restore input); suricata (rules, e.g. for AWS Network Firewall)',
        }),
        action: Type.Optional(
          stringEnum(['drop', 'alert'] as const, { description: 'suricata only: the rule action (default drop)' }),
        ),
      }),
      doc: {
        operationId: 'getPoolIps',
        summary: 'Known mining pool addresses (ip lists and learned), for egress firewall rules',
        description:
          'Each address once, with the list it came from and, for learned addresses, the names that resolved to it and when. ' +
          'The firewall formats are whole files to load as they are: they replace the previous set.',
        tags: ['lists'],
        responses: {
          200: {
            description: 'The feed in the asked format',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['entries'],
                  properties: { entries: { type: 'array', items: ENTRY_SCHEMA } },
                },
              },
              'text/plain': { schema: { type: 'string', description: 'text, nftables, iptables or suricata' } },
            },
          },
          ...errorResponses(400, 401, 405),
        },
      },
      handle(request) {
        const { format, action } = request.query;
        const out = formatPoolIps(feed.entries(), format, action !== undefined ? { action } : {});
        return out.kind === 'json'
          ? json(200, out.body)
          : { kind: 'text', status: 200, contentType: out.contentType, body: out.body };
      },
    }),
  ];
}
