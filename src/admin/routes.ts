/**
 * The admin API's route table: what a route is, what the handlers depend on, and the assembly of
 * every route (system, events, lists) plus the OpenAPI document that describes them. Handlers
 * return a Reply value; server.ts turns it into bytes.
 */
import type { ListManagement } from '../blocklist/list-api.js';
import type { EventReader } from '../store/types.js';
import { buildOpenApiDocument, jsonResponse, errorResponses, type DocumentedRoute, type OperationDoc } from './openapi.js';
import { createMetrics, type ListMetricsView, type MetricsSources } from './metrics.js';
import { createEventRoutes } from './routes-events.js';
import { createListRoutes } from './routes-lists.js';
import { createSystemRoutes } from './routes-system.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
/** `metrics`: token required unless `admin.metricsAuth` is false. */
export type AuthMode = 'none' | 'token' | 'metrics';

export interface ApiRequest {
  /** Path parameters, percent-decoded (not yet validated). */
  readonly params: Readonly<Record<string, string>>;
  /** Only the parameters the route documents are present. */
  readonly query: URLSearchParams;
  readonly nowMs: number;
  /** Reads the JSON body: 415 if not application/json, 413 above the cap, 400 if not JSON. */
  body(): Promise<unknown>;
}

export type Reply =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'empty'; readonly status: 204 }
  | { readonly kind: 'text'; readonly status: number; readonly contentType: string; readonly body: string }
  /** Streamed with backpressure; `chunks` is pulled once before the headers go out, so a failure there is still a JSON error. */
  | { readonly kind: 'stream'; readonly contentType: string; readonly filename: string; readonly chunks: AsyncIterable<string> };

export interface Route extends DocumentedRoute {
  readonly method: Method;
  handle(request: ApiRequest): Reply | Promise<Reply>;
}

/** Whether DNS is being served, and where; supplied by the composition root. */
export interface ServingState {
  readonly serving: boolean;
  readonly listeners: readonly { readonly protocol: 'udp' | 'tcp'; readonly address: string }[];
}

export interface AdminDeps extends Omit<MetricsSources, 'lists'> {
  readonly events: EventReader;
  /** The list manager; without it the /lists and /allowlist routes answer 503. */
  readonly lists?: ListManagement;
  /**
   * What the list metrics read; default `lists`. Pass `{ lists: () => manager.status().lists }`
   * for the fetch failure counter, which ListInfo does not carry.
   */
  readonly listMetrics?: { lists(): readonly ListMetricsView[] };
  health(): ServingState;
}

export function json(status: number, body: unknown): Reply {
  return { kind: 'json', status, body };
}

export const NO_CONTENT: Reply = { kind: 'empty', status: 204 };

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
    ...createSystemRoutes({ health: deps.health, eventWriter: deps.eventWriter, resolver: deps.resolver, registry, ...(deps.lists !== undefined ? { lists: deps.lists } : {}) }),
    ...createEventRoutes(deps),
    ...createListRoutes({ resolver: deps.resolver, clock, ...(deps.lists !== undefined ? { lists: deps.lists } : {}) }),
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
