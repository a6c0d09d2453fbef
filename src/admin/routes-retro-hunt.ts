/**
 * POST /api/v1/retro-hunt: searches the query history (history.enabled) for clients that resolved
 * the given names or their subdomains; with `record: true` each becomes (or joins) an incident
 * marked retro, notified like a new one. 409 when the history is off. The search runs in the writer
 * thread (store/history-worker.ts), through incidents/retro-hunt.ts.
 */
import type { OnDemandHunt } from '../incidents/retro-hunt.js';
import type { RetroHuntResult } from '../store/history-protocol.js';
import { parseRetroHuntBody } from './bodies.js';
import { isoTime } from './export.js';
import { HttpError } from './http-errors.js';
import { errorResponses, jsonBody, jsonResponse, ref } from './openapi.js';
import { json, type Route } from './route-types.js';

export type RetroHuntApi = (request: OnDemandHunt) => Promise<RetroHuntResult>;

export function retroHuntView(result: RetroHuntResult): Record<string, unknown> {
  return {
    clients: result.clients.map((client) => ({
      client: client.clientIp,
      ...(client.identity !== undefined ? { identity: client.identity } : {}),
      names: client.names.map((name) => ({
        qname: name.qname,
        firstTime: isoTime(name.firstMs),
        lastTime: isoTime(name.lastMs),
        count: name.count,
      })),
      firstTime: isoTime(client.firstMs),
      lastTime: isoTime(client.lastMs),
      count: client.count,
    })),
    rowsRead: result.rowsRead,
    truncated: result.truncated,
    incidents: result.incidents,
  };
}

export function createRetroHuntRoutes(hunt: RetroHuntApi | undefined): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/v1/retro-hunt',
      auth: 'token',
      doc: {
        operationId: 'retroHunt',
        summary: 'Find the clients that resolved names (and their subdomains) in the query history',
        description:
          'Needs history.enabled (409 otherwise). With record: true each client found becomes (or joins) an ' +
          'incident marked retro, with the times of its queries, and is notified like a new incident.',
        tags: ['incidents'],
        requestBody: jsonBody(ref('RetroHuntBody')),
        responses: {
          200: jsonResponse('The clients found', ref('RetroHuntResult')),
          ...errorResponses(400, 401, 405, 409, 413, 415, 503),
        },
      },
      async handle(request) {
        const parsed = parseRetroHuntBody(await request.body(), request.nowMs);
        if (hunt === undefined) throw new HttpError('ERR_UNAVAILABLE', 'retro-hunts are not available');
        return json(200, retroHuntView(await hunt(parsed)));
      },
    },
  ];
}
