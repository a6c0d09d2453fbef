/**
 * OpenAPI pieces of notifications: the payload webhooks receive (components.schemas.Notification,
 * also under the document's `webhooks`), and the sink status GET /api/v1/notify answers. No
 * imports from openapi.ts, which embeds these.
 */
import { NOTIFICATION_TYPES } from '../notify/notification.js';
import { DIGEST_TYPE } from '../notify/render.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullableTime = { type: ['string', 'null'], format: 'date-time' };

export const NOTIFY_SCHEMAS = {
  Notification: {
    type: 'object',
    description:
      'The body of a webhook POST. Headers: X-Poolsink-Id (the id; drop duplicates by it) and, with a ' +
      'secretFile, X-Poolsink-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the secret>.',
    required: ['id', 'type', 'time', 'data'],
    properties: {
      id: { type: 'string', format: 'uuid', description: 'Unique per message; retries resend the same id' },
      type: { type: 'string', enum: [...NOTIFICATION_TYPES, DIGEST_TYPE] },
      time: { type: 'string', format: 'date-time', description: 'When the event happened' },
      data: {
        type: 'object',
        description:
          'The facts of the event: for incidents the incident summary with the host identity; for ' +
          'list.failing the list, its last error and since when; for store.degraded the dropped count; for ' +
          `${DIGEST_TYPE} held, byType, topHosts and summary.`,
      },
    },
  },
  NotifySink: {
    type: 'object',
    required: ['name', 'type', 'events', 'state', 'queueDepth', 'delivered', 'failed', 'held'],
    properties: {
      name: { type: 'string' },
      type: { type: 'string', enum: ['webhook', 'slack', 'syslog'] },
      events: { type: 'array', items: { type: 'string' } },
      state: { type: 'string', enum: ['ok', 'failing'] },
      lastError: { type: ['string', 'null'] },
      lastErrorAt: nullableTime,
      lastSuccessAt: nullableTime,
      queueDepth: { type: 'integer', description: 'Deliveries waiting, retries included' },
      delivered: { type: 'integer' },
      failed: { type: 'integer', description: 'Given up 24 h after the message was made' },
      held: { type: 'integer', description: 'Held back by the rate limit (summarised in digests)' },
    },
  },
  NotifySinkList: {
    type: 'object',
    required: ['sinks'],
    properties: { sinks: { type: 'array', items: ref('NotifySink') } },
  },
  NotifyQueued: {
    type: 'object',
    required: ['id'],
    properties: { id: { type: 'string', format: 'uuid', description: 'The test message id' } },
  },
} as const;

/** OpenAPI 3.1 `webhooks`: what poolsink POSTs to a webhook sink. */
export const NOTIFY_WEBHOOKS = {
  notification: {
    post: {
      summary: 'A notification (webhook sink)',
      description:
        'Verify: recompute HMAC-SHA256 over "<t>.<raw body>" with the shared secret, compare in constant time ' +
        'with v1, reject when |now - t| exceeds your tolerance (e.g. 300 s), and drop ids already seen. Answer ' +
        '2xx to acknowledge; anything else is retried with backoff for up to 24 h.',
      requestBody: { required: true, content: { 'application/json': { schema: ref('Notification') } } },
      responses: { '200': { description: 'Received (any 2xx)' } },
    },
  },
} as const;
