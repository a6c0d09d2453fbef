/**
 * Notification sinks: GET /api/v1/notify (each sink's state, last error, queue depth, totals) and
 * POST /api/v1/notify/{name}/test (a test message through the outbox, to that sink only).
 */
import { randomUUID } from 'node:crypto';
import { PoolsinkError } from '../errors.js';
import type { Notification } from '../notify/notification.js';
import type { SinkStatus } from '../notify/sink-status.js';
import { isoTime } from './export.js';
import { errorResponses, jsonResponse, pathParam, ref } from './openapi.js';
import { json, type Route } from './route-types.js';

export interface NotifyApi {
  status(): readonly SinkStatus[];
  /** Hands a notification to the outbox (the writer thread). */
  send(notification: Notification): void;
}

function sinkView(sink: SinkStatus): Record<string, unknown> {
  return {
    name: sink.name,
    type: sink.type,
    events: sink.events,
    state: sink.state,
    lastError: sink.lastError ?? null,
    lastErrorAt: sink.lastErrorMs === undefined ? null : isoTime(sink.lastErrorMs),
    lastSuccessAt: sink.lastSuccessMs === undefined ? null : isoTime(sink.lastSuccessMs),
    queueDepth: sink.queueDepth,
    delivered: sink.delivered,
    failed: sink.failed,
    held: sink.held,
  };
}

export function createNotifyRoutes(notify: NotifyApi): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/notify',
      auth: 'token',
      doc: {
        operationId: 'listNotifySinks',
        summary: 'Notification sinks and their delivery state',
        tags: ['notify'],
        responses: { 200: jsonResponse('The sinks', ref('NotifySinkList')), ...errorResponses(401, 405) },
      },
      handle() {
        return json(200, { sinks: notify.status().map(sinkView) });
      },
    },
    {
      method: 'POST',
      path: '/api/v1/notify/{name}/test',
      auth: 'token',
      doc: {
        operationId: 'testNotifySink',
        summary: 'Send a test message to one sink',
        description: 'Queued in the outbox and delivered like any notification (retried if the sink is down).',
        tags: ['notify'],
        parameters: [pathParam('name', 'The sink name (notify[].name)')],
        responses: { 202: jsonResponse('Queued', ref('NotifyQueued')), ...errorResponses(401, 404, 405) },
      },
      handle(request) {
        const name = request.params.name ?? '';
        if (!notify.status().some((sink) => sink.name === name)) {
          throw new PoolsinkError('ERR_NOT_FOUND', 'no notification sink has this name');
        }
        const id = randomUUID();
        notify.send({
          type: 'test',
          atMs: request.nowMs,
          id,
          sinks: [name],
          payload: { message: 'poolsink test notification', sink: name },
        });
        return json(202, { id });
      },
    },
  ];
}
