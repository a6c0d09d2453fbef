/**
 * The OpenAPI 3.1 document at /api/v1/openapi.json. Each route carries its own operation
 * (parameters, body, responses); this module holds the shared schemas and assembles the document
 * from the route table, so a route cannot exist without being described. A route's query
 * parameters are generated from its `query` schema (query.ts), the one its requests are read with;
 * `doc.parameters` holds path parameters only. Request bodies are the validators' own schemas
 * (bodies.ts, src/config/list-schema.ts), embedded as they are: JSON Schema 2020-12.
 */
import type { TObject } from '@sinclair/typebox';
import { ListNameSchema, listSettings } from '../config/list-schema.js';
import { BODY_SCHEMAS } from './bodies.js';
import { INCIDENT_SCHEMAS } from '../incidents/incident-api-schemas.js';
import { queryParameters } from './query.js';
import { NOTIFY_SCHEMAS, NOTIFY_WEBHOOKS } from './notify-schemas.js';

export type Schema = Readonly<Record<string, unknown>>;

export interface ParameterDoc {
  readonly name: string;
  readonly in: 'query' | 'path';
  readonly required?: boolean;
  readonly description: string;
  readonly schema: Schema;
}

/** Written by hand only for path parameters; query parameters come from the route's `query` schema. */
export interface PathParameterDoc extends ParameterDoc {
  readonly in: 'path';
}

export interface ResponseDoc {
  readonly description: string;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: Schema }>>;
  readonly content?: Readonly<Record<string, { readonly schema: Schema }>>;
}

export interface OperationDoc {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly parameters?: readonly PathParameterDoc[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly content: { readonly 'application/json': { readonly schema: Schema } };
  };
  readonly responses: Readonly<Record<string, ResponseDoc | { readonly $ref: string }>>;
}

export interface DocumentedRoute {
  readonly method: string;
  readonly path: string;
  readonly auth: 'none' | 'token' | 'metrics';
  readonly doc: OperationDoc;
  /** The query parameters (query.ts); none are accepted without it. */
  readonly query?: TObject;
}

export function ref(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

export function pathParam(name: string, description: string, schema: Schema = { type: 'string' }): PathParameterDoc {
  return { name, in: 'path', required: true, description, schema };
}

export function jsonResponse(description: string, schema: Schema): ResponseDoc {
  return { description, content: { 'application/json': { schema } } };
}

export function jsonBody(schema: Schema): NonNullable<OperationDoc['requestBody']> {
  return { required: true, content: { 'application/json': { schema } } };
}

const ERROR_RESPONSES = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
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

export const LIST_NAME_SCHEMA: Schema = ListNameSchema;

const nullableString: Schema = { type: ['string', 'null'] };
const time: Schema = { type: 'string', format: 'date-time' };
const SCHEMAS: Readonly<Record<string, Schema>> = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', examples: ['ERR_INVALID'] },
          message: { type: 'string' },
          param: { type: 'string', description: 'The request parameter or body field at fault (400 only)' },
        },
      },
    },
  },
  Event: {
    type: 'object',
    required: [
      'id',
      'time',
      'timeMs',
      'clientIp',
      'clientPort',
      'protocol',
      'qname',
      'qtype',
      'list',
      'rule',
      'action',
      'answer',
      'via',
    ],
    properties: {
      id: { type: 'integer' },
      time,
      timeMs: { type: 'integer' },
      clientIp: { type: 'string' },
      clientPort: { type: 'integer' },
      protocol: { type: 'string', enum: ['udp', 'tcp'] },
      qname: { type: 'string' },
      qtype: { type: 'integer' },
      list: { type: 'string' },
      rule: { type: 'string' },
      action: { type: 'string', enum: ['blocked', 'alerted'] },
      answer: { type: 'string' },
      via: { ...nullableString, description: 'The CNAME target that was blocked, when the block came from the answer' },
      incidentId: { type: ['integer', 'null'], description: 'The incident the event counted into' },
      identity: {
        oneOf: [ref('HostIdentity'), { type: 'null' }],
        description: 'Who the client was when the event was recorded (inventory or reverse DNS); null if unknown',
      },
    },
  },
  HostIdentity: {
    type: 'object',
    required: ['source'],
    properties: {
      name: { type: 'string', description: 'Inventory name, or the PTR name' },
      instanceId: { type: 'string' },
      account: { type: 'string', description: 'AWS account, GCP project or Azure subscription' },
      region: { type: 'string' },
      tags: { type: 'object', additionalProperties: { type: 'string' } },
      source: { type: 'string', enum: ['inventory', 'reverse-dns'] },
    },
  },
  InventoryStatus: {
    type: 'object',
    required: ['files', 'identities', 'reverseDns'],
    properties: {
      files: {
        type: 'array',
        items: {
          type: 'object',
          required: ['source', 'format', 'entries', 'skipped', 'healthy', 'lastLoad', 'lastError'],
          properties: {
            source: { type: 'string' },
            format: { type: 'string', enum: ['auto', 'poolsink', 'aws-ec2', 'gcp', 'azure'] },
            detectedFormat: { type: 'string', enum: ['poolsink', 'aws-ec2', 'gcp', 'azure'] },
            entries: { type: 'integer', description: 'Addresses from the last good load (kept while the file is bad)' },
            skipped: { type: 'integer', description: 'Records or addresses that were not usable' },
            healthy: { type: 'boolean' },
            lastLoad: { ...nullableString, format: 'date-time' },
            lastError: nullableString,
            lastErrorAt: { ...nullableString, format: 'date-time' },
          },
        },
      },
      identities: { type: 'integer', description: 'Addresses named by the merged inventory' },
      reverseDns: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            properties: {
              entries: { type: 'integer' },
              inFlight: { type: 'integer' },
              lookups: { type: 'integer' },
              names: { type: 'integer' },
              failures: { type: 'integer' },
              skipped: { type: 'integer' },
            },
          },
        ],
      },
    },
  },
  EventPage: {
    type: 'object',
    required: ['events', 'nextCursor'],
    properties: {
      events: { type: 'array', items: ref('Event') },
      nextCursor: {
        ...nullableString,
        description: 'Pass as `cursor` for the next (older) page; null on the last page',
      },
    },
  },
  DomainCount: {
    type: 'object',
    required: ['domain', 'count'],
    properties: { domain: { type: 'string' }, count: { type: 'integer' } },
  },
  HostSummary: {
    type: 'object',
    required: [
      'clientIp',
      'firstSeen',
      'lastSeen',
      'firstSeenMs',
      'lastSeenMs',
      'blockedCount',
      'distinctDomains',
      'topDomains',
    ],
    properties: {
      clientIp: { type: 'string' },
      firstSeen: time,
      lastSeen: time,
      firstSeenMs: { type: 'integer' },
      lastSeenMs: { type: 'integer' },
      blockedCount: { type: 'integer' },
      distinctDomains: { type: 'integer' },
      topDomains: { type: 'array', items: ref('DomainCount') },
      incidentId: { type: ['integer', 'null'], description: "The host's latest incident" },
      identity: {
        oneOf: [ref('HostIdentity'), { type: 'null' }],
        description: "The identity of the host's latest event that had one",
      },
    },
  },
  HostList: {
    type: 'object',
    required: ['hosts'],
    properties: { hosts: { type: 'array', items: ref('HostSummary') } },
  },
  HostDetail: {
    type: 'object',
    required: ['host', 'recentEvents'],
    properties: { host: ref('HostSummary'), recentEvents: { type: 'array', items: ref('Event') } },
  },
  Stats: {
    type: 'object',
    required: ['since', 'sinceMs', 'outcomes', 'droppedEvents', 'topDomains', 'topHosts', 'perList', 'live'],
    properties: {
      since: time,
      sinceMs: { type: 'integer' },
      outcomes: {
        type: 'object',
        additionalProperties: { type: 'integer' },
        description: 'Query outcomes in the window (persisted per minute)',
      },
      droppedEvents: { type: 'integer' },
      topDomains: { type: 'array', items: ref('DomainCount') },
      topHosts: {
        type: 'array',
        items: { type: 'object', properties: { clientIp: { type: 'string' }, count: { type: 'integer' } } },
      },
      perList: {
        type: 'array',
        items: { type: 'object', properties: { list: { type: 'string' }, count: { type: 'integer' } } },
      },
      live: {
        type: 'object',
        description: 'Counters of the running process since it started',
        properties: {
          counters: { type: 'object', additionalProperties: { type: 'integer' } },
          pendingQueries: { type: 'integer' },
          cacheEntries: { type: 'integer' },
          blockedDomains: { type: 'integer' },
          allowlistEntries: { type: 'integer' },
          eventWriter: { type: 'object' },
          upstreams: { type: 'array', items: { type: 'object' } },
        },
      },
    },
  },
  Verdict: {
    type: 'object',
    required: ['domain', 'verdict'],
    properties: {
      domain: { type: 'string', description: 'The name as checked (normalized)' },
      verdict: { type: 'string', enum: ['allow', 'block', 'alert', 'allowlisted'] },
      list: { type: 'string', description: 'block and alert only' },
      rule: { type: 'string', description: 'The matching list entry, or the allowlist entry for allowlisted' },
    },
  },
  ListInfo: {
    type: 'object',
    required: ['name', 'source', 'format', 'mode', 'origin', 'entries', 'skipped'],
    properties: {
      name: { type: 'string' },
      ...listSettings,
      origin: { type: 'string', enum: ['config', 'runtime'], description: 'config: read-only over the API' },
      entries: { type: 'integer' },
      skipped: { type: 'integer' },
      skippedByReason: { type: 'object', additionalProperties: { type: 'integer' } },
      lastFetch: { ...nullableString, format: 'date-time' },
      lastChange: { ...nullableString, format: 'date-time' },
      ageSec: { type: ['number', 'null'], description: 'Seconds since the entries last changed' },
      lastError: nullableString,
      loadedFrom: { type: ['string', 'null'], enum: ['source', 'last-known-good', null] },
    },
  },
  ListList: { type: 'object', required: ['lists'], properties: { lists: { type: 'array', items: ref('ListInfo') } } },
  ListResult: { type: 'object', required: ['list'], properties: { list: ref('ListInfo') } },
  ...BODY_SCHEMAS,
  RefreshResults: {
    type: 'object',
    required: ['results'],
    properties: {
      results: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'outcome', 'entries', 'previousEntries'],
          properties: {
            name: { type: 'string' },
            outcome: { type: 'string', enum: ['updated', 'unchanged', 'rejected', 'failed'] },
            entries: { type: 'integer' },
            previousEntries: { type: 'integer' },
            message: { type: 'string' },
          },
        },
      },
    },
  },
  AllowlistEntry: {
    type: 'object',
    required: ['domain', 'origin'],
    properties: { domain: { type: 'string' }, origin: { type: 'string', enum: ['config', 'runtime'] } },
  },
  Allowlist: {
    type: 'object',
    required: ['entries'],
    properties: { entries: { type: 'array', items: ref('AllowlistEntry') } },
  },
  Health: {
    type: 'object',
    required: ['status', 'listeners', 'lists', 'store'],
    properties: {
      status: {
        type: 'string',
        enum: ['ok', 'degraded', 'unavailable'],
        description: 'degraded: serving, but a list failed, the store cannot write or a notification sink fails',
      },
      listeners: {
        type: 'array',
        items: {
          type: 'object',
          properties: { protocol: { type: 'string', enum: ['udp', 'tcp'] }, address: { type: 'string' } },
        },
      },
      lists: {
        type: 'array',
        items: {
          type: 'object',
          properties: { name: { type: 'string' }, entries: { type: 'integer' }, ok: { type: 'boolean' } },
        },
      },
      store: {
        type: 'object',
        properties: { healthy: { type: 'boolean' }, buffered: { type: 'integer' }, dropped: { type: 'integer' } },
      },
      notify: {
        type: 'array',
        description: 'Notification sinks (when configured); ok false while a sink fails',
        items: { type: 'object', properties: { name: { type: 'string' }, ok: { type: 'boolean' } } },
      },
      inventory: {
        type: 'object',
        description: 'Host inventory files, and how many failed their last load (details: GET /api/v1/inventory)',
        properties: { files: { type: 'integer' }, failing: { type: 'integer' } },
      },
    },
  },
};

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
  Unprocessable: errorResponse('The list source could not be read, or the update was rejected by a guard'),
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
        '(and /metrics when admin.metricsAuth is false) requires `Authorization: Bearer <token>`.',
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
      schemas: { ...SCHEMAS, ...INCIDENT_SCHEMAS, ...NOTIFY_SCHEMAS },
      responses: RESPONSES,
    },
  };
}
