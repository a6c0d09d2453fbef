/**
 * Incidents over HTTP: GET /incidents (filters, keyset pages like /events), GET /incidents/{id},
 * and POST .../acknowledge and .../resolve (applied by the writer thread; an invalid transition is
 * a 409). Reads go through the reader thread.
 */
import { PoolsinkError } from '../errors.js';
import type { IncidentSummary } from '../incidents/incident-queries.js';
import {
  INCIDENT_STATES,
  SEVERITIES,
  isIncidentState,
  isSeverity,
  type IncidentChange,
} from '../incidents/incident-state.js';
import type { EventReader } from '../store/types.js';
import { parseIncidentNote } from './bodies.js';
import { eventView, isoTime } from './export.js';
import { HttpError, InvalidParameterError } from './http-errors.js';
import {
  LIMIT_SCHEMA,
  TIME_SCHEMA,
  errorResponses,
  jsonBody,
  jsonResponse,
  pathParam,
  queryParam,
  ref,
} from './openapi.js';
import { encodeCursor, parseClientIp, parseCursor, parseLimit, parseTime, single } from './params.js';
import { json, type Route } from './route-types.js';

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
    {
      method: 'GET',
      path: '/api/v1/incidents',
      auth: 'token',
      doc: {
        operationId: 'listIncidents',
        summary: 'Incidents (one per host and period of activity), newest first',
        tags: ['incidents'],
        parameters: [
          queryParam('state', 'open, acknowledged or resolved', { type: 'string', enum: INCIDENT_STATES }),
          queryParam('severity', 'Exact severity', { type: 'string', enum: SEVERITIES }),
          queryParam('client', 'Exact client IP (IPv4 or IPv6)'),
          queryParam('since', 'Only incidents with attempts since then', TIME_SCHEMA),
          queryParam('limit', 'Incidents per page', LIMIT_SCHEMA),
          queryParam('cursor', 'nextCursor of the previous page'),
        ],
        responses: { 200: jsonResponse('A page', ref('IncidentPage')), ...errorResponses(400, 401, 405, 500, 503) },
      },
      async handle(request) {
        const { query } = request;
        const state = single(query, 'state');
        const severity = single(query, 'severity');
        const client = single(query, 'client');
        const since = single(query, 'since');
        const cursor = single(query, 'cursor');
        if (state !== undefined && !isIncidentState(state))
          throw new InvalidParameterError('state', `must be one of ${INCIDENT_STATES.join(', ')}`);
        if (severity !== undefined && !isSeverity(severity))
          throw new InvalidParameterError('severity', `must be one of ${SEVERITIES.join(', ')}`);
        const filter = {
          ...(state !== undefined ? { state } : {}),
          ...(severity !== undefined ? { severity } : {}),
          ...(client !== undefined ? { client: parseClientIp('client', client) } : {}),
          ...(since !== undefined ? { sinceMs: parseTime('since', since, request.nowMs) } : {}),
        };
        const limit = parseLimit('limit', single(query, 'limit'));
        const afterId = cursor === undefined ? undefined : parseCursor('cursor', cursor).id;
        const page = await deps.events.incidents(filter, limit, afterId);
        return json(200, {
          incidents: page.incidents.map(incidentView),
          nextCursor: page.nextAfterId === undefined ? null : encodeCursor({ timeMs: 0, id: page.nextAfterId }),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/v1/incidents/{id}',
      auth: 'token',
      doc: {
        operationId: 'getIncident',
        summary: 'One incident: summary, identity, names, attempts per hour, recent events, state history',
        tags: ['incidents'],
        parameters: [idParam, queryParam('limit', 'Recent events at most (default 20)', LIMIT_SCHEMA)],
        responses: {
          200: jsonResponse('The incident', ref('IncidentDetail')),
          ...errorResponses(400, 401, 404, 405, 500, 503),
        },
      },
      async handle(request) {
        const id = parseId(request.params['id']);
        const limit = parseLimit('limit', single(request.query, 'limit'), RECENT_EVENTS);
        const detail = await deps.events.incident(id, limit);
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
          history: detail.history.map((h) => ({
            time: isoTime(h.timeMs),
            change: h.change,
            state: h.state,
            actor: h.actor,
            note: h.note,
          })),
        });
      },
    },
    changeRoute(deps, 'acknowledged'),
    changeRoute(deps, 'resolved'),
  ];
}
