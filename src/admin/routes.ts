/**
 * The admin API's route table: what the handlers depend on, and the assembly of every route
 * (system, events, lists) plus the OpenAPI document that describes them. What a route is lives in
 * route-types.ts (re-exported here); handlers return a Reply value; server.ts turns it into bytes.
 */
import type { Registry } from 'prom-client';
import type { ListManagement } from '../blocklist/list-api.js';
import type { EventReader } from '../store/types.js';
import { buildOpenApiDocument, jsonResponse, errorResponses, type OperationDoc } from './openapi.js';
import { json, type Route, type ServingState } from './route-types.js';
import { createMetrics, type ListMetricsView, type MetricsSources } from './metrics.js';
import { createEventRoutes } from './routes-events.js';
import { createListRoutes } from './routes-lists.js';
import { createIncidentRoutes } from './routes-incidents.js';
import { createRetroHuntRoutes, type RetroHuntApi } from './routes-retro-hunt.js';
import type { IncidentChange } from '../incidents/incident-state.js';
import { createInventoryRoutes, type InventoryRouteDeps } from './routes-inventory.js';
import { createSystemRoutes } from './routes-system.js';
import { createPoolIpRoutes, type PoolIpRouteDeps } from './routes-pool-ips.js';
import { createNotifyRoutes, type NotifyApi } from './routes-notify.js';
import { createConfigurationRoutes, type ConfigurationApi } from './routes-config.js';
import { createDashboardRoutes } from './routes-dashboard.js';
import { createMinerLoginRoutes } from './routes-miner-logins.js';
import type { Config } from '../config/types.js';
import type { FleetApi } from '../central/fleet.js';
import { createFleetRoutes } from './routes-fleet.js';

export {
  NO_CONTENT,
  json,
  type ApiRequest,
  type AuthMode,
  type Method,
  type Reply,
  type Route,
  type ServingState,
} from './route-types.js';

export interface AdminDeps extends Omit<MetricsSources, 'lists'>, InventoryRouteDeps, PoolIpRouteDeps {
  readonly events: EventReader;
  /** The list manager; without it the /lists and /allowlist routes answer 503. */
  readonly lists?: ListManagement;
  /**
   * What the list metrics read; default `lists`. Pass `{ lists: () => manager.status().lists }`
   * for the fetch failure counter, which ListInfo does not carry.
   */
  readonly listMetrics?: { lists(): readonly ListMetricsView[] };
  health(): ServingState;
  /** Applies an incident acknowledge or resolve (the writer thread); without it those routes answer 503. */
  readonly changeIncident?: (change: IncidentChange) => Promise<void>;
  /** On-demand retro-hunts (POST /retro-hunt); without it that route answers 503. */
  readonly retroHunt?: RetroHuntApi;
  /** Notification sinks; without it the /notify routes are absent. */
  readonly notify?: NotifyApi;
  /** Reload and token rotation; without it those routes are absent. */
  readonly configuration?: ConfigurationApi;
  /** The configuration in effect, for GET /config (secrets masked); without it that route answers 503. */
  readonly config?: () => Config;
  /** The fleet's PostgreSQL view (central.postgres); without it the /fleet routes are absent. */
  readonly fleet?: FleetApi;
  /** Called before each request is handled (dns.workers > 1: fresh numbers from every worker). */
  readonly refresh?: () => Promise<void>;
  /** Called after a changing request (POST, PUT, DELETE) is handled, before its reply (dns.workers > 1: every worker has the change). */
  readonly settle?: () => Promise<void>;
  /** More metrics for /metrics (dns.workers > 1: the workers' latency histograms, summed). */
  readonly extraMetrics?: () => Registry;
}

/** The version of the API the document describes (not poolsink's release). */
export const API_VERSION = '1.0.0';

const OPENAPI_DOC: OperationDoc = {
  operationId: 'getOpenApi',
  summary: 'This OpenAPI 3.1 document',
  tags: ['system'],
  responses: { 200: jsonResponse('The document', { type: 'object' }), ...errorResponses(401) },
};

export function createRoutes(deps: AdminDeps, options: { readonly metricsAuth: boolean }): Route[] {
  const listMetrics = deps.listMetrics ?? deps.lists;
  const { registry } = createMetrics({ ...deps, ...(listMetrics !== undefined ? { lists: listMetrics } : {}) });
  const clock = deps.clock ?? Date.now;
  const routes: Route[] = [
    ...createSystemRoutes({
      health: deps.health,
      eventWriter: deps.eventWriter,
      resolver: deps.resolver,
      registry,
      ...(deps.extraMetrics !== undefined ? { extraMetrics: deps.extraMetrics } : {}),
      ...(deps.lists !== undefined ? { lists: deps.lists } : {}),
      ...(deps.notify !== undefined ? { notify: deps.notify } : {}),
      ...(deps.inventory !== undefined ? { inventory: deps.inventory } : {}),
      ...(deps.fleet !== undefined ? { central: deps.fleet } : {}),
    }),
    ...createEventRoutes(deps),
    ...createRetroHuntRoutes(deps.retroHunt),
    ...createIncidentRoutes({
      events: deps.events,
      ...(deps.changeIncident !== undefined ? { changeIncident: deps.changeIncident } : {}),
    }),
    ...createMinerLoginRoutes({ events: deps.events }),
    ...createListRoutes({ resolver: deps.resolver, clock, ...(deps.lists !== undefined ? { lists: deps.lists } : {}) }),
    ...(deps.notify !== undefined ? createNotifyRoutes(deps.notify) : []),
    ...createInventoryRoutes(deps),
    ...createPoolIpRoutes(deps),
    ...(deps.configuration !== undefined ? createConfigurationRoutes(deps.configuration) : []),
    ...(deps.fleet !== undefined ? createFleetRoutes({ fleet: deps.fleet, events: deps.events }) : []),
    ...createDashboardRoutes({
      events: deps.events,
      resolver: deps.resolver,
      upstream: deps.upstream,
      eventWriter: deps.eventWriter,
      ...(deps.lists !== undefined ? { lists: deps.lists } : {}),
      ...(deps.config !== undefined ? { config: deps.config } : {}),
    }),
  ];
  let document: unknown;
  routes.push({
    method: 'GET',
    path: '/api/v1/openapi.json',
    auth: 'token',
    doc: OPENAPI_DOC,
    handle() {
      document ??= buildOpenApiDocument(routes, { version: API_VERSION, metricsAuth: options.metricsAuth });
      return json(200, document);
    },
  });
  return routes;
}
