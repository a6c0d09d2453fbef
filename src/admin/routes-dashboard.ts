/**
 * The routes the browser dashboard needs beyond the resources' own: /timeseries (blocked attempts
 * per list over time), /overview (the first paint in one call) and /config (the effective
 * configuration, secrets masked). Stored counts come from the reader thread (store/dashboard-query.ts);
 * live state from the same views the other routes use. Contract: docs/dashboard-api.md.
 */
import { Type } from '@sinclair/typebox';
import type { ListManagement } from '../blocklist/list-api.js';
import type { Config } from '../config/types.js';
import { effectiveConfig } from '../config/secrets.js';
import { SEVERITIES } from '../incidents/incident-state.js';
import { TIMESERIES_RANGES } from '../store/dashboard-query.js';
import type { EventReader, EventWriterStats } from '../store/types.js';
import { UNHEALTHY_AFTER_FAILURES } from '../upstream/health.js';
import { stringEnum } from '../config/schema-types.js';
import type { OverviewView, TimeseriesView } from './dashboard-schemas.js';
import { isoTime } from './export.js';
import { HttpError } from './http-errors.js';
import type { ResolverView, UpstreamView } from './metrics.js';
import { errorResponses, jsonResponse, ref } from './openapi.js';
import { limitParam } from './params.js';
import { json, withQuery, type Route } from './route-types.js';
import { listView } from './routes-lists.js';

export interface DashboardRouteDeps {
  readonly events: EventReader;
  readonly resolver: Pick<ResolverView, 'counters'>;
  readonly upstream: Pick<UpstreamView, 'health'>;
  readonly eventWriter: { readonly stats: EventWriterStats };
  readonly lists?: Pick<ListManagement, 'lists'>;
  /** The loaded configuration; without it /config answers 503. */
  readonly config?: Config;
}

const DAY_MS = 86_400_000;
const DEFAULT_TOP_NAMES = 10;

export function createDashboardRoutes(deps: DashboardRouteDeps): Route[] {
  return [
    withQuery({
      method: 'GET',
      path: '/api/v1/timeseries',
      auth: 'token',
      query: Type.Object({
        range: stringEnum(TIMESERIES_RANGES, {
          default: '24h',
          description: '24h: hourly buckets; 7d: 6-hourly; 30d: daily (UTC)',
        }),
        outcomes: Type.Boolean({
          default: false,
          description: 'Add query outcomes per bucket (reads a row per minute: about 100 ms for 30d)',
        }),
      }),
      doc: {
        operationId: 'getTimeseries',
        summary: 'Blocked attempts over time, stacked by list, and query outcomes, in fixed buckets',
        description:
          'Every bucket of the range is present (zeros filled); the last holds now. Counts come from the hourly ' +
          'rollups, written by the store every few seconds.',
        tags: ['dashboard'],
        responses: {
          200: jsonResponse('The series', ref('Timeseries')),
          ...errorResponses(400, 401, 405, 500, 503),
        },
      },
      async handle(request) {
        const { range, outcomes } = request.query;
        const series = await deps.events.timeseries(range, request.nowMs, outcomes);
        const view: TimeseriesView = {
          range: series.range,
          bucketSeconds: series.bucketMs / 1000,
          from: isoTime(series.fromMs),
          to: isoTime(series.toMs),
          lists: [...series.lists],
          buckets: series.buckets.map((b) => ({
            start: isoTime(b.startMs),
            total: b.total,
            byList: b.byList,
            ...(b.outcomes !== undefined ? { outcomes: b.outcomes } : {}),
          })),
        };
        return json(200, view);
      },
    }),
    withQuery({
      method: 'GET',
      path: '/api/v1/overview',
      auth: 'token',
      query: Type.Object({
        top: limitParam('Top pool names at most', { maximum: 100, default: DEFAULT_TOP_NAMES }),
      }),
      doc: {
        operationId: 'getOverview',
        summary: "The dashboard's first paint: incidents, hosts, top names, outcomes, list, upstream and store health",
        tags: ['dashboard'],
        responses: {
          200: jsonResponse('The overview', ref('Overview')),
          ...errorResponses(400, 401, 405, 500, 503),
        },
      },
      async handle(request) {
        const { nowMs } = request;
        const counts = await deps.events.overview(nowMs - DAY_MS, request.query.top);
        const openBySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
        let open = 0;
        let acknowledged = 0;
        for (const row of counts.incidents) {
          if (row.state === 'open') {
            open += row.count;
            openBySeverity[row.severity] = (openBySeverity[row.severity] ?? 0) + row.count;
          } else if (row.state === 'acknowledged') acknowledged += row.count;
        }
        const writer = deps.eventWriter.stats;
        const view: OverviewView = {
          generated: isoTime(nowMs),
          since: isoTime(counts.sinceMs),
          incidents: {
            open,
            acknowledged,
            openBySeverity,
            activeByState: counts.incidents.map((row) => ({ ...row })),
          },
          hostsAffected24h: counts.hostsAffected,
          topNames: counts.topNames.map((row) => ({ ...row })),
          outcomes: { sinceStart: { ...deps.resolver.counters }, last24h: counts.outcomes },
          lists: (deps.lists?.lists() ?? []).map((list) => ({
            ...listView(list, nowMs),
            ok: list.lastError === undefined,
          })),
          upstreams: deps.upstream.health().map((upstream) => ({
            ...upstream,
            failures: { ...upstream.failures },
            healthy: upstream.consecutiveFailures < UNHEALTHY_AFTER_FAILURES,
          })),
          store: { ...writer, droppedLast24h: counts.droppedEvents },
        };
        return json(200, view);
      },
    }),
    {
      method: 'GET',
      path: '/api/v1/config',
      auth: 'token',
      doc: {
        operationId: 'getConfig',
        summary: 'The effective configuration, secrets masked as "***"',
        description:
          'Values the configuration schema marks secret (tokens, webhook URLs and headers, file contents read at ' +
          'start) and URL credentials are replaced; `masked` lists their paths. File paths are shown, never the files.',
        tags: ['dashboard'],
        responses: {
          200: jsonResponse('The configuration', ref('EffectiveConfig')),
          ...errorResponses(401, 405, 503),
        },
      },
      handle() {
        if (deps.config === undefined) throw new HttpError('ERR_UNAVAILABLE', 'the configuration is not available');
        return json(200, effectiveConfig(deps.config));
      },
    },
  ];
}
