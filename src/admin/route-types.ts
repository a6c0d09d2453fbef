/**
 * What a route is and what its handler gets and gives back: the contract between the route files
 * (routes-*.ts), the route table (routes.ts) and the server (server.ts). Its own module so the route
 * files and the table that assembles them do not import each other.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { DocumentedRoute } from './openapi.js';
import { createQueryReader } from './query.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
/** `metrics`: token required unless `admin.metricsAuth` is false. */
export type AuthMode = 'none' | 'token' | 'metrics';

export interface ApiRequest {
  /** Path parameters, percent-decoded (not yet validated). */
  readonly params: Readonly<Record<string, string>>;
  /** The raw query string; only names in the route's `query` schema get this far (read it with withQuery). */
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
  | {
      readonly kind: 'stream';
      readonly contentType: string;
      readonly filename: string;
      readonly chunks: AsyncIterable<string>;
    };

export interface Route extends DocumentedRoute {
  readonly method: Method;
  handle(request: ApiRequest): Reply | Promise<Reply>;
}

/** A request whose query string has been read into its schema's type. */
export interface QueryRequest<Q> extends Omit<ApiRequest, 'query'> {
  readonly query: Q;
}

export interface RouteWithQuery<S extends TObject> extends Omit<Route, 'query' | 'handle'> {
  /** The query parameters: accepted, validated and documented from this one schema (query.ts). */
  readonly query: S;
  handle(request: QueryRequest<Static<S>>): Reply | Promise<Reply>;
}

/**
 * A route with query parameters: the handler gets `request.query` already read into
 * Static<typeof query> (a 400 naming the parameter otherwise), and the OpenAPI document lists the
 * same schema's properties. A route without parameters is a plain Route (no `query`: none accepted).
 */
export function withQuery<S extends TObject>(route: RouteWithQuery<S>): Route {
  const read = createQueryReader(route.query);
  return {
    ...route,
    handle: (request) => route.handle({ ...request, query: read(request.query, request) }),
  };
}

/** Whether DNS is being served, and where; supplied by the composition root. */
/** Why /healthz says degraded, as fixed words a probe can match (never a list's source or error text). */
export const HEALTH_REASONS = [
  'no-blocked-names',
  'list-failing',
  'store-unhealthy',
  'notify-failing',
  'central-unreachable',
] as const;
export type HealthReason = (typeof HEALTH_REASONS)[number];

export interface ServingState {
  readonly serving: boolean;
  readonly listeners: readonly { readonly protocol: 'udp' | 'tcp'; readonly address: string }[];
}

export function json(status: number, body: unknown): Reply {
  return { kind: 'json', status, body };
}

export const NO_CONTENT: Reply = { kind: 'empty', status: 204 };
