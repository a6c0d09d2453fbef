/**
 * What a route is and what its handler gets and gives back: the contract between the route files
 * (routes-*.ts), the route table (routes.ts) and the server (server.ts). Its own module so the route
 * files and the table that assembles them do not import each other.
 */
import type { DocumentedRoute } from './openapi.js';

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

/** Whether DNS is being served, and where; supplied by the composition root. */
export interface ServingState {
  readonly serving: boolean;
  readonly listeners: readonly { readonly protocol: 'udp' | 'tcp'; readonly address: string }[];
}

export function json(status: number, body: unknown): Reply {
  return { kind: 'json', status, body };
}

export const NO_CONTENT: Reply = { kind: 'empty', status: 204 };
