/**
 * The shared component schemas of the OpenAPI document (what the API answers with). Request bodies
 * and query strings are not here: they are the validators' own schemas (bodies.ts, query.ts).
 */
import { ListNameSchema, listSettings } from '../config/list-schema.js';
import { BODY_SCHEMAS } from './bodies.js';
import { ref, type Schema } from './openapi-doc.js';
import { HEALTH_REASONS } from './route-types.js';

export const LIST_NAME_SCHEMA: Schema = ListNameSchema;

const nullableString: Schema = { type: ['string', 'null'] };
const time: Schema = { type: 'string', format: 'date-time' };
export const SCHEMAS: Readonly<Record<string, Schema>> = {
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
      'qtypeName',
      'list',
      'rule',
      'action',
      'answer',
      'via',
      'count',
      'lastTime',
      'lastTimeMs',
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
      qtypeName: {
        type: 'string',
        description: 'The type by name (A, AAAA, HTTPS), or TYPE<n> (RFC 3597)',
        examples: ['A'],
      },
      list: { type: 'string' },
      rule: { type: 'string' },
      action: { type: 'string', enum: ['blocked', 'alerted'] },
      answer: { type: 'string' },
      via: { ...nullableString, description: 'The CNAME target that was blocked, when the block came from the answer' },
      incidentId: { type: ['integer', 'null'], description: 'The incident the event counted into' },
      count: {
        type: 'integer',
        minimum: 1,
        description: 'Queries the row stands for: repeats within database.coalesceWindowMs are one row',
      },
      lastTime: { type: 'string', format: 'date-time', description: 'The last of those queries (time is the first)' },
      lastTimeMs: { type: 'integer' },
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
    properties: {
      hosts: { type: 'array', items: ref('HostSummary') },
      nextCursor: { type: ['string', 'null'], description: 'Pass as cursor for the next page; null on the last' },
    },
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
      resolveForIps: {
        type: 'boolean',
        description: "The pool IP learner resolves this list's names (set, or the default: true for mining-pools only)",
      },
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
      reasons: {
        type: 'array',
        description: 'Why the status is degraded (absent when ok)',
        items: { type: 'string', enum: [...HEALTH_REASONS] },
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
      central: {
        type: 'object',
        description:
          'The fleet PostgreSQL (when central.postgres is set); reachable false: degraded central-unreachable',
        properties: { reachable: { type: 'boolean' } },
      },
    },
  },
};
