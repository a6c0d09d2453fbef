/**
 * The block log over HTTP: /events (pages and exports), /hosts, /hosts/{ip} and /stats.
 * Query parameters are declared once per route (`query`, read by withQuery; see query.ts) and
 * checked before the store sees them.
 */
import { Type } from '@sinclair/typebox';
import { stringEnum } from '../config/schema-types.js';
import { InvalidParameterError } from './http-errors.js';
import { PoolsinkError } from '../errors.js';
import type { EventReader, EventWriterStats } from '../store/types.js';
import { pagedHosts } from '../store/queries.js';
import { encodeHostCursor, hostCsvChunks, hostCursorParam, hostNdjsonChunks, hostView } from './host-views.js';
import { csvChunks, eventView, isoTime, ndjsonChunks } from './export.js';
import type { ResolverView, UpstreamView } from './metrics.js';
import {
  EVENT_FORMATS,
  EventsQuery,
  networkClients,
  encodeCursor,
  limitParam,
  parseClientIp,
  timeParam,
  toEventQuery,
} from './params.js';
import { errorResponses, jsonResponse, pathParam, ref } from './openapi.js';
import { json, withQuery, type Route } from './route-types.js';

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

export function createEventRoutes(deps: EventRouteDeps): Route[] {
  return [
    withQuery({
      method: 'GET',
      path: '/api/v1/events',
      auth: 'token',
      query: EventsQuery,
      doc: {
        operationId: 'listEvents',
        summary: 'Block events, newest first',
        description:
          'format=json (default) returns one page; follow nextCursor for older events. format=ndjson or format=csv streams ' +
          'every matching event (limit and cursor do not apply).',
        tags: ['events'],
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
        const query = toEventQuery(request.query);
        const filter = { ...query.filter, ...(await networkClients('client', query.network, deps.events)) };
        if (query.format === 'json') {
          const page = await deps.events.events(filter, query.limit, query.cursor);
          return json(200, {
            events: page.events.map(eventView),
            nextCursor: page.nextCursor === undefined ? null : encodeCursor(page.nextCursor),
          });
        }
        const events = deps.events.iterateEvents(filter);
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
    }),
    withQuery({
      method: 'GET',
      path: '/api/v1/hosts',
      auth: 'token',
      query: Type.Object({
        since: Type.Optional(timeParam('Only hosts seen since then')),
        limit: limitParam('Hosts per page (json only)'),
        cursor: Type.Optional(hostCursorParam('nextCursor of the previous page (json only)')),
        format: stringEnum(EVENT_FORMATS, { default: 'json', description: 'json page or full export (csv, ndjson)' }),
      }),
      doc: {
        operationId: 'listHosts',
        summary: 'Hosts that tried to resolve blocked names, most recent first',
        tags: ['events'],
        description:
          'format=json (default) returns one page; follow nextCursor for older hosts. format=ndjson or format=csv streams ' +
          'every matching host (limit and cursor do not apply).',
        responses: {
          200: {
            description: 'A page (json) or an export (ndjson, csv)',
            content: {
              'application/json': { schema: ref('HostList') },
              'application/x-ndjson': { schema: { type: 'string', description: 'One HostSummary object per line' } },
              'text/csv': { schema: { type: 'string', description: 'Header line, then one host per line' } },
            },
          },
          ...errorResponses(400, 401, 405, 500, 503),
        },
      },
      async handle(request) {
        const { since, limit, cursor, format } = request.query;
        if (format === 'json') {
          const page = await deps.events.hostsPage(since, limit, cursor);
          return json(200, {
            hosts: page.hosts.map(hostView),
            nextCursor: page.nextCursor === undefined ? null : encodeHostCursor(page.nextCursor),
          });
        }
        if (cursor !== undefined)
          throw new InvalidParameterError('cursor', `does not apply to format=${format}, which exports every host`);
        const hosts = pagedHosts(deps.events.hostsPage, since);
        return format === 'csv'
          ? {
              kind: 'stream',
              contentType: 'text/csv; charset=utf-8',
              filename: 'poolsink-hosts.csv',
              chunks: hostCsvChunks(hosts),
            }
          : {
              kind: 'stream',
              contentType: 'application/x-ndjson; charset=utf-8',
              filename: 'poolsink-hosts.ndjson',
              chunks: hostNdjsonChunks(hosts),
            };
      },
    }),
    withQuery({
      method: 'GET',
      path: '/api/v1/hosts/{ip}',
      auth: 'token',
      query: Type.Object({ limit: limitParam('Recent events at most') }),
      doc: {
        operationId: 'getHost',
        summary: "One host's summary and its recent events",
        tags: ['events'],
        parameters: [pathParam('ip', 'Client IP (IPv4 or IPv6)')],
        responses: {
          200: jsonResponse('The host', ref('HostDetail')),
          ...errorResponses(400, 401, 404, 405, 500, 503),
        },
      },
      async handle(request) {
        const ip = parseClientIp('ip', request.params['ip'] ?? '');
        const host = await deps.events.host(ip, request.query.limit);
        if (host === undefined) throw new PoolsinkError('ERR_NOT_FOUND', `no blocked queries recorded from ${ip}`);
        return json(200, { host: hostView(host.summary), recentEvents: host.recent.map(eventView) });
      },
    }),
    withQuery({
      method: 'GET',
      path: '/api/v1/stats',
      auth: 'token',
      query: Type.Object({
        since: timeParam('Start of the window', { default: DEFAULT_STATS_WINDOW }),
        top: limitParam('Entries in each top list', { maximum: MAX_TOP, default: DEFAULT_TOP }),
      }),
      doc: {
        operationId: 'getStats',
        summary: 'Query outcomes, top blocked domains, top hosts and hits per list',
        description:
          'Window counts come from the database (they survive restarts); `live` holds the running process counters.',
        tags: ['events'],
        responses: { 200: jsonResponse('Statistics', ref('Stats')), ...errorResponses(400, 401, 405, 500, 503) },
      },
      async handle(request) {
        const stats = await deps.events.stats(request.query.since, request.query.top);
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
    }),
  ];
}
