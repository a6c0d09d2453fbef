/**
 * The block log over HTTP: /events (pages and exports), /hosts, /hosts/{ip} and /stats.
 * Parameters are validated by params.ts before the store sees them.
 */
import { PoolsinkError } from '../errors.js';
import type { EventReader, EventWriterStats, HostSummary } from '../store/types.js';
import { csvChunks, eventView, isoTime, ndjsonChunks } from './export.js';
import type { ResolverView, UpstreamView } from './metrics.js';
import {
  BLOCK_ACTIONS,
  EVENT_FORMATS,
  MAX_LIST_PARAM_LENGTH,
  encodeCursor,
  parseClientIp,
  parseEventQuery,
  parseLimit,
  parseTime,
  single,
} from './params.js';
import { LIMIT_SCHEMA, TIME_SCHEMA, errorResponses, jsonResponse, pathParam, queryParam, ref } from './openapi.js';
import { json, type Route } from './route-types.js';

export interface EventRouteDeps {
  readonly events: EventReader;
  readonly resolver: ResolverView;
  readonly cache: { readonly size: number };
  readonly upstream: UpstreamView;
  readonly eventWriter: { readonly stats: EventWriterStats };
}

const DEFAULT_STATS_WINDOW = '24h';
const DEFAULT_TOP = 10;
const MAX_TOP = 100;

function hostView(host: HostSummary): Record<string, unknown> {
  return {
    clientIp: host.clientIp,
    firstSeen: isoTime(host.firstSeenMs),
    lastSeen: isoTime(host.lastSeenMs),
    firstSeenMs: host.firstSeenMs,
    lastSeenMs: host.lastSeenMs,
    blockedCount: host.blockedCount,
    distinctDomains: host.distinctDomains,
    topDomains: host.topDomains,
    identity: host.identity ?? null,
  };
}

const filterParams = [
  queryParam('client', 'Exact client IP (IPv4 or IPv6)'),
  queryParam('domain', 'This name and its subdomains', { type: 'string', examples: ['pool.example'] }),
  queryParam('list', 'List name', { type: 'string', maxLength: MAX_LIST_PARAM_LENGTH }),
  queryParam('action', 'blocked or alerted', { type: 'string', enum: BLOCK_ACTIONS }),
  queryParam('since', 'Inclusive lower bound', TIME_SCHEMA),
  queryParam('until', 'Exclusive upper bound', TIME_SCHEMA),
];

export function createEventRoutes(deps: EventRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/events',
      auth: 'token',
      doc: {
        operationId: 'listEvents',
        summary: 'Block events, newest first',
        description:
          'format=json (default) returns one page; follow nextCursor for older events. format=ndjson or format=csv streams ' +
          'every matching event (limit and cursor do not apply).',
        tags: ['events'],
        parameters: [
          ...filterParams,
          queryParam('limit', 'Events per page (json only); above 1000 is a 400', LIMIT_SCHEMA),
          queryParam('cursor', 'nextCursor of the previous page (json only)'),
          queryParam('format', 'json page or full export', { type: 'string', enum: EVENT_FORMATS, default: 'json' }),
        ],
        responses: {
          200: {
            description: 'A page (json) or an export (ndjson, csv)',
            content: {
              'application/json': { schema: ref('EventPage') },
              'application/x-ndjson': { schema: { type: 'string', description: 'One Event object per line' } },
              'text/csv': { schema: { type: 'string', description: 'Header line, then one event per line' } },
            },
          },
          ...errorResponses(400, 401, 405, 500, 503),
        },
      },
      async handle(request) {
        const query = parseEventQuery(request.query, request.nowMs);
        if (query.format === 'json') {
          const page = await deps.events.events(query.filter, query.limit, query.cursor);
          return json(200, {
            events: page.events.map(eventView),
            nextCursor: page.nextCursor === undefined ? null : encodeCursor(page.nextCursor),
          });
        }
        const events = deps.events.iterateEvents(query.filter);
        return query.format === 'csv'
          ? {
              kind: 'stream',
              contentType: 'text/csv; charset=utf-8',
              filename: 'poolsink-events.csv',
              chunks: csvChunks(events),
            }
          : {
              kind: 'stream',
              contentType: 'application/x-ndjson; charset=utf-8',
              filename: 'poolsink-events.ndjson',
              chunks: ndjsonChunks(events),
            };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/hosts',
      auth: 'token',
      doc: {
        operationId: 'listHosts',
        summary: 'Hosts that tried to resolve blocked names, most recent first',
        tags: ['events'],
        parameters: [
          queryParam('since', 'Only hosts seen since then', TIME_SCHEMA),
          queryParam('limit', 'Hosts at most', LIMIT_SCHEMA),
        ],
        responses: { 200: jsonResponse('Hosts', ref('HostList')), ...errorResponses(400, 401, 405, 500, 503) },
      },
      async handle(request) {
        const since = single(request.query, 'since');
        const sinceMs = since === undefined ? undefined : parseTime('since', since, request.nowMs);
        const limit = parseLimit('limit', single(request.query, 'limit'));
        return json(200, { hosts: (await deps.events.hosts(sinceMs, limit)).map(hostView) });
      },
    },
    {
      method: 'GET',
      path: '/api/v1/hosts/{ip}',
      auth: 'token',
      doc: {
        operationId: 'getHost',
        summary: "One host's summary and its recent events",
        tags: ['events'],
        parameters: [
          pathParam('ip', 'Client IP (IPv4 or IPv6)'),
          queryParam('limit', 'Recent events at most', LIMIT_SCHEMA),
        ],
        responses: {
          200: jsonResponse('The host', ref('HostDetail')),
          ...errorResponses(400, 401, 404, 405, 500, 503),
        },
      },
      async handle(request) {
        const ip = parseClientIp('ip', request.params['ip'] ?? '');
        const limit = parseLimit('limit', single(request.query, 'limit'));
        const host = await deps.events.host(ip, limit);
        if (host === undefined) throw new PoolsinkError('ERR_NOT_FOUND', `no blocked queries recorded from ${ip}`);
        return json(200, { host: hostView(host.summary), recentEvents: host.recent.map(eventView) });
      },
    },
    {
      method: 'GET',
      path: '/api/v1/stats',
      auth: 'token',
      doc: {
        operationId: 'getStats',
        summary: 'Query outcomes, top blocked domains, top hosts and hits per list',
        description:
          'Window counts come from the database (they survive restarts); `live` holds the running process counters.',
        tags: ['events'],
        parameters: [
          queryParam('since', 'Start of the window (default 24h)', TIME_SCHEMA),
          queryParam('top', 'Entries in each top list', {
            type: 'integer',
            minimum: 1,
            maximum: MAX_TOP,
            default: DEFAULT_TOP,
          }),
        ],
        responses: { 200: jsonResponse('Statistics', ref('Stats')), ...errorResponses(400, 401, 405, 500, 503) },
      },
      async handle(request) {
        const sinceMs = parseTime('since', single(request.query, 'since') ?? DEFAULT_STATS_WINDOW, request.nowMs);
        const top = parseLimit('top', single(request.query, 'top'), DEFAULT_TOP, MAX_TOP);
        const stats = await deps.events.stats(sinceMs, top);
        const { resolver } = deps;
        return json(200, {
          since: isoTime(stats.sinceMs),
          ...stats,
          live: {
            counters: { ...resolver.counters },
            pendingQueries: resolver.pending,
            cacheEntries: deps.cache.size,
            blockedDomains: resolver.matcher.size,
            allowlistEntries: resolver.matcher.allowlistSize,
            eventWriter: { ...deps.eventWriter.stats },
            upstreams: deps.upstream.health(),
          },
        });
      },
    },
  ];
}
