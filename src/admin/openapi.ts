/**
 * The OpenAPI 3.1 document at /api/v1/openapi.json. Each route carries its own operation
 * (parameters, body, responses); this module holds the shared schemas and assembles the document
 * from the route table, so a route cannot exist without being described. A route's query
 * parameters are generated from its `query` schema (query.ts), the one its requests are read with;
 * `doc.parameters` holds path parameters only. Request bodies are the validators' own schemas
 * (bodies.ts, src/config/list-schema.ts), embedded as they are: JSON Schema 2020-12.
 */
import { INCIDENT_SCHEMAS } from '../incidents/incident-api-schemas.js';
import { RETRO_HUNT_SCHEMAS } from './retro-hunt-schemas.js';
import { queryParameters } from './query.js';
import { NOTIFY_SCHEMAS, NOTIFY_WEBHOOKS } from './notify-schemas.js';
import { ref, type DocumentedRoute, type ResponseDoc, type Schema } from './openapi-doc.js';
import { SCHEMAS } from './openapi-schemas.js';
import { DASHBOARD_SCHEMAS } from './dashboard-schemas.js';
import { MINER_LOGIN_SCHEMAS } from '../honeypot/miner-login-api-schemas.js';

export * from './openapi-doc.js';
export { LIST_NAME_SCHEMA } from './openapi-schemas.js';

const ERROR_RESPONSES = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  421: 'MisdirectedRequest',
  422: 'Unprocessable',
  500: 'InternalError',
  502: 'BadGateway',
  503: 'Unavailable',
} as const;

/** References to the shared error responses for the given statuses. */
export function errorResponses(...statuses: (keyof typeof ERROR_RESPONSES)[]): Record<string, { $ref: string }> {
  const out: Record<string, { $ref: string }> = {};
  for (const status of statuses) out[String(status)] = { $ref: `#/components/responses/${ERROR_RESPONSES[status]}` };
  return out;
}

function errorResponse(description: string, headers?: ResponseDoc['headers']): ResponseDoc {
  return {
    description,
    ...(headers !== undefined ? { headers } : {}),
    content: { 'application/json': { schema: ref('Error') } },
  };
}

const RESPONSES: Readonly<Record<string, ResponseDoc>> = {
  BadRequest: errorResponse('A parameter or body field is invalid; `error.param` names it'),
  Unauthorized: errorResponse('Missing or wrong bearer token', {
    'WWW-Authenticate': { description: 'Bearer realm="poolsink"', schema: { type: 'string' } },
  }),
  NotFound: errorResponse('No such item or route'),
  MethodNotAllowed: errorResponse('The path exists with other methods', {
    Allow: { description: 'The methods the path accepts', schema: { type: 'string' } },
  }),
  Conflict: errorResponse('The item already exists, or comes from the configuration file and cannot be changed here'),
  PayloadTooLarge: errorResponse('The body is larger than 64 KiB'),
  UnsupportedMediaType: errorResponse('The body is not application/json'),
  MisdirectedRequest: errorResponse(
    'The Host header is not an IP address, localhost or one of admin.hostnames (DNS rebinding defence)',
  ),
  Unprocessable: errorResponse(
    'The list source could not be read, the update was rejected by a guard, or the configuration file is invalid',
  ),
  InternalError: errorResponse('Unexpected failure; details are in the server log'),
  BadGateway: errorResponse('A list source could not be fetched'),
  Unavailable: errorResponse('The store or list management is not available'),
};

/** The document for `routes`, with the bearer scheme required unless a route says otherwise. */
export function buildOpenApiDocument(
  routes: readonly DocumentedRoute[],
  options: { version: string; metricsAuth: boolean },
): Schema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operations = paths[route.path] ?? {};
    paths[route.path] = operations;
    const open = route.auth === 'none' || (route.auth === 'metrics' && !options.metricsAuth);
    const parameters = [...(route.doc.parameters ?? []), ...queryParameters(route.query)];
    operations[route.method.toLowerCase()] = {
      ...route.doc,
      ...(parameters.length > 0 ? { parameters } : {}),
      responses: { ...route.doc.responses, ...errorResponses(421) },
      ...(open ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'poolsink admin API',
      version: options.version,
      description:
        'Block log queries, statistics, verdicts and list management for poolsink. Every route except /healthz ' +
        '(and /metrics when admin.metricsAuth is false) requires `Authorization: Bearer <token>`; every route ' +
        'answers 421 to a Host that is not an IP address, localhost or one of admin.hostnames.',
    },
    security: [{ bearerAuth: [] }],
    paths,
    webhooks: NOTIFY_WEBHOOKS,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'admin.token, admin.tokenFile or <dataDir>/admin-token',
        },
      },
      schemas: {
        ...SCHEMAS,
        ...INCIDENT_SCHEMAS,
        ...NOTIFY_SCHEMAS,
        ...DASHBOARD_SCHEMAS,
        ...RETRO_HUNT_SCHEMAS,
        ...MINER_LOGIN_SCHEMAS,
      },
      responses: RESPONSES,
    },
  };
}
