/**
 * Incidents over HTTP: GET /incidents (filters, keyset pages like /events), GET /incidents/{id},
 * and POST .../acknowledge and .../resolve (applied by the writer thread; an invalid transition is
 * a 409). Reads go through the reader thread.
 */
import { PoolsinkError } from '../errors.js';
import type { IncidentSummary } from '../incidents/incident-queries.js';
import { Type } from '@sinclair/typebox';
import { stringEnum } from '../config/schema-types.js';
import { INCIDENT_STATES, SEVERITIES, type IncidentChange } from '../incidents/incident-state.js';
import type { EventReader } from '../store/types.js';
import { parseIncidentNote } from './bodies.js';
import { eventView, isoTime } from './export.js';
import { HttpError, InvalidParameterError } from './http-errors.js';
import { errorResponses, jsonBody, jsonResponse, pathParam, ref } from './openapi.js';
import { clientFields, clientFilterParam, cursorParam, encodeCursor, limitParam, timeParam } from './params.js';
import { json, withQuery, type Route } from './route-types.js';
import { minerLoginView } from './routes-miner-logins.js';

export interface IncidentRouteDeps {
  readonly events: EventReader;
  /** Applies an acknowledge or resolve (the writer thread); without it those routes answer 503. */
  readonly changeIncident?: (change: IncidentChange) => Promise<void>;
}

const RECENT_EVENTS = 20;

export function incidentView(incident: IncidentSummary): Record<string, unknown> {
  const { acknowledged, resolved } = incident;
  return {
    id: incident.id,
    clientIp: incident.clientIp,
    identity: incident.identity,
    state: incident.state,
    severity: incident.severity,
    firstSeen: isoTime(incident.firstSeenMs),
    lastSeen: isoTime(incident.lastSeenMs),
    attempts: incident.attempts,
    distinctNames: incident.distinctNames,
    lists: incident.lists,
    protocols: incident.protocols,
    previousId: incident.previousId,
    escalationLevel: incident.escalationLevel,
    retro: incident.retro,
    acknowledged: acknowledged === null ? null : { at: isoTime(acknowledged.atMs), note: acknowledged.note },
    resolved: resolved === null ? null : { at: isoTime(resolved.atMs), note: resolved.note, by: resolved.by },
  };
}

function parseId(text: string | undefined): number {
  const id = Number(text);
  if (text === undefined || !/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(id))
    throw new InvalidParameterError('id', 'must be an incident id (a positive integer)');
  return id;
}

const idParam = pathParam('id', 'Incident id', { type: 'integer', minimum: 1 });

function changeRoute(deps: IncidentRouteDeps, to: IncidentChange['to']): Route {
  const verb = to === 'acknowledged' ? 'acknowledge' : 'resolve';
  return {
    method: 'POST',
    path: `/api/v1/incidents/{id}/${verb}`,
    auth: 'token',
    doc: {
      operationId: `${verb}Incident`,
      summary:
        to === 'acknowledged'
          ? 'Acknowledge an open incident (otherwise 409)'
          : 'Resolve an open or acknowledged incident (otherwise 409); new activity then opens a recurrence',
      tags: ['incidents'],
      parameters: [idParam],
      requestBody: jsonBody(ref('IncidentNote')),
      responses: {
        200: jsonResponse('The incident after the change', ref('Incident')),
        ...errorResponses(400, 401, 404, 405, 409, 413, 415, 503),
      },
    },
    async handle(request) {
      const incidentId = parseId(request.params['id']);
      const note = parseIncidentNote(await request.body());
      if (deps.changeIncident === undefined) throw new HttpError('ERR_UNAVAILABLE', 'incidents are not kept');
      await deps.changeIncident({ incidentId, to, note });
      const detail = await deps.events.incident(incidentId, 0);
      if (detail === undefined) throw new PoolsinkError('ERR_NOT_FOUND', `no incident ${incidentId}`);
      return json(200, incidentView(detail.summary));
    },
  };
}

export function createIncidentRoutes(deps: IncidentRouteDeps): Route[] {
  return [
    withQuery({
      method: 'GET',
      path: '/api/v1/incidents',
      auth: 'token',
      query: Type.Object({
        state: Type.Optional(stringEnum(INCIDENT_STATES, { description: 'open, acknowledged or resolved' })),
        severity: Type.Optional(stringEnum(SEVERITIES, { description: 'Exact severity' })),
        client: Type.Optional(clientFilterParam('Client address or CIDR')),
        since: Type.Optional(timeParam('Only incidents with attempts since then')),
        limit: limitParam('Incidents per page'),
        cursor: Type.Optional(cursorParam('nextCursor of the previous page')),
      }),
      doc: {
        operationId: 'listIncidents',
        summary: 'Incidents (one per host and period of activity), newest first',
        tags: ['incidents'],
        responses: { 200: jsonResponse('A page', ref('IncidentPage')), ...errorResponses(400, 401, 405, 500, 503) },
      },
      async handle(request) {
        const { state, severity, client, since, limit, cursor } = request.query;
        const filter = {
          ...(state !== undefined ? { state } : {}),
          ...(severity !== undefined ? { severity } : {}),
          ...(await clientFields('client', client, deps.events)),
          ...(since !== undefined ? { sinceMs: since } : {}),
        };
        const afterId = cursor?.id;
        const page = await deps.events.incidents(filter, limit, afterId);
        return json(200, {
          incidents: page.incidents.map(incidentView),
          nextCursor: page.nextAfterId === undefined ? null : encodeCursor({ timeMs: 0, id: page.nextAfterId }),
        });
      },
    }),
    withQuery({
      method: 'GET',
      path: '/api/v1/incidents/{id}',
      auth: 'token',
      query: Type.Object({ limit: limitParam('Recent events at most', { maximum: 1000, default: RECENT_EVENTS }) }),
      doc: {
        operationId: 'getIncident',
        summary: 'One incident: summary, identity, names, attempts per hour, recent events, state history',
        tags: ['incidents'],
        parameters: [idParam],
        responses: {
          200: jsonResponse('The incident', ref('IncidentDetail')),
          ...errorResponses(400, 401, 404, 405, 500, 503),
        },
      },
      async handle(request) {
        const id = parseId(request.params['id']);
        const detail = await deps.events.incident(id, request.query.limit);
        if (detail === undefined) throw new PoolsinkError('ERR_NOT_FOUND', `no incident ${id}`);
        return json(200, {
          incident: incidentView(detail.summary),
          names: detail.names.map((n) => ({
            qname: n.qname,
            list: n.list,
            count: n.count,
            firstSeen: isoTime(n.firstMs),
            lastSeen: isoTime(n.lastMs),
          })),
          hours: detail.hours.map((h) => ({ hour: isoTime(h.hourMs), count: h.count })),
          recentEvents: detail.recent.map(eventView),
          minerLogins: detail.minerLogins.map(minerLoginView),
          history: detail.history.map((h) => ({
            time: isoTime(h.timeMs),
            change: h.change,
            state: h.state,
            actor: h.actor,
            note: h.note,
          })),
        });
      },
    }),
    changeRoute(deps, 'acknowledged'),
    changeRoute(deps, 'resolved'),
  ];
}
