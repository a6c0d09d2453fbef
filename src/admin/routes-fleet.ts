/**
 * The fleet-wide view (src/central/): /api/v1/fleet/events, /fleet/hosts, /fleet/incidents (and
 * their acknowledge / resolve), /fleet/miner-logins, /fleet/instances. Read from PostgreSQL with `source: "fleet"`;
 * when it cannot be reached, the reads answer from this instance's own block log with
 * `source: "local"` (and `instance` on every row is this one), so a dashboard keeps working and
 * says so. Changes of fleet incidents need PostgreSQL (503 without it).
 */
import { Type } from '@sinclair/typebox';
import { INSTANCE_NAME_PATTERN } from '../config/central-schema.js';
import { stringEnum } from '../config/schema-types.js';
import type { CentralIncident } from '../central/central-incidents.js';
import type { FleetApi } from '../central/fleet.js';
import type { FleetEvent, FleetHost } from '../central/fleet-queries.js';
import type { EventReader, StoredEvent } from '../store/types.js';
import { parseIncidentNote } from './bodies.js';
import { fleetMinerLoginRoute } from './routes-fleet-logins.js';
import { isoTime, queryFieldsView } from './export.js';
import { cursorText, fleetOrLocal } from './fleet-fallback.js';
import { encodeFleetHostCursor, fleetHostCursorParam } from './fleet-host-cursor.js';
import { InvalidParameterError } from './http-errors.js';
import { invalid } from './query.js';
import { errorResponses, jsonBody, jsonResponse, pathParam, ref } from './openapi.js';
import {
  BLOCK_ACTIONS,
  clientFilterParam,
  clientIpParam,
  cursorParam,
  domainParam,
  limitParam,
  listFilterParam,
  networkClients,
  timeParam,
} from './params.js';
import { json, withQuery, type Route } from './route-types.js';

export interface FleetRouteDeps {
  readonly fleet: FleetApi;
  readonly events: EventReader;
}

const INSTANCE_PARAM = Type.String({
  pattern: INSTANCE_NAME_PATTERN,
  description: 'Only this instance (instance.name)',
});
const FLEET_STATES = ['open', 'acknowledged', 'resolved'] as const;

const PAGE_SCHEMA = {
  type: 'object',
  description:
    '`source` is "fleet" (PostgreSQL) or "local" (fallback; `fallback.kind` "unreachable" or "timeout" and `fallback.reason` say why)',
};

function fleetEventView(event: FleetEvent): Record<string, unknown> {
  return {
    id: event.id,
    instance: event.instance,
    localId: event.localId,
    ...queryFieldsView(event),
    count: event.count,
    lastTime: event.lastTimeMs === null ? null : isoTime(event.lastTimeMs),
    lastTimeMs: event.lastTimeMs,
    identity: event.identity ?? null,
  };
}

function localEventView(event: StoredEvent, instance: string): Record<string, unknown> {
  return fleetEventView({
    ...event,
    instance,
    localId: event.id,
    lastTimeMs: event.count > 1 ? event.lastMs : null,
    identity: event.identity ?? null,
  });
}

function fleetHostView(host: Omit<FleetHost, 'identity'> & { readonly identity?: unknown }): Record<string, unknown> {
  return {
    clientIp: host.clientIp,
    instance: host.instance,
    firstSeen: isoTime(host.firstSeenMs),
    lastSeen: isoTime(host.lastSeenMs),
    blockedCount: host.blockedCount,
    identity: host.identity ?? null,
  };
}

function incidentView(incident: CentralIncident): Record<string, unknown> {
  return {
    id: incident.id,
    clientIp: incident.clientIp,
    state: incident.state,
    firstSeen: isoTime(incident.openedMs),
    lastSeen: isoTime(incident.lastSeenMs),
    attempts: incident.attempts,
    instances: incident.instances,
    identity: incident.identity ?? null,
    severity: incident.severity,
    names: incident.names,
    logins: incident.logins,
    escalated:
      incident.escalatedMs === null ? null : { at: isoTime(incident.escalatedMs), reason: incident.escalationReason },
    notifiedBy: incident.notifiedBy,
    acknowledged:
      incident.acknowledgedMs === null ? null : { at: isoTime(incident.acknowledgedMs), note: incident.ackNote },
    resolved: incident.resolvedMs === null ? null : { at: isoTime(incident.resolvedMs) },
  };
}

function parseId(text: string | undefined): number {
  const id = Number(text);
  if (text === undefined || !/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(id))
    throw new InvalidParameterError('id', 'must be a fleet incident id (a positive integer)');
  return id;
}

function changeRoute(deps: FleetRouteDeps, to: 'acknowledged' | 'resolved'): Route {
  const verb = to === 'acknowledged' ? 'acknowledge' : 'resolve';
  return {
    method: 'POST',
    path: `/api/v1/fleet/incidents/{id}/${verb}`,
    auth: 'token',
    doc: {
      operationId: `${verb}FleetIncident`,
      summary: `${to === 'acknowledged' ? 'Acknowledge' : 'Resolve'} a fleet incident (every instance sees it)`,
      tags: ['fleet'],
      parameters: [pathParam('id', 'Fleet incident id', { type: 'integer', minimum: 1 })],
      requestBody: jsonBody(ref('IncidentNote')),
      responses: {
        200: jsonResponse('The incident after the change', { type: 'object' }),
        ...errorResponses(400, 401, 404, 405, 409, 413, 415, 503),
      },
    },
    async handle(request) {
      const id = parseId(request.params['id']);
      const note = parseIncidentNote(await request.body());
      const incident = await deps.fleet.changeIncident(id, to, note === '' ? undefined : note);
      return json(200, incidentView(incident));
    },
  };
}

export function createFleetRoutes(deps: FleetRouteDeps): Route[] {
  const { fleet } = deps;
  const self = fleet.instance;
  return [
    withQuery({
      method: 'GET',
      path: '/api/v1/fleet/events',
      auth: 'token',
      query: Type.Object({
        instance: Type.Optional(INSTANCE_PARAM),
        client: Type.Optional(clientFilterParam('Client address or CIDR')),
        domain: Type.Optional(domainParam('This name and its subdomains')),
        list: Type.Optional(listFilterParam('List name')),
        action: Type.Optional(stringEnum(BLOCK_ACTIONS, { description: 'blocked or alerted' })),
        since: Type.Optional(timeParam('Inclusive lower bound')),
        until: Type.Optional(timeParam('Exclusive upper bound')),
        limit: limitParam('Events per page'),
        cursor: Type.Optional(cursorParam('nextCursor of the previous page')),
      }),
      doc: {
        operationId: 'listFleetEvents',
        summary:
          'Block events of every instance, newest first (this instance only, source "local", without PostgreSQL)',
        tags: ['fleet'],
        responses: { 200: jsonResponse('A page', PAGE_SCHEMA), ...errorResponses(400, 401, 405, 500, 503) },
      },
      async handle(request) {
        const { instance, client, domain, list, action, since, until, limit, cursor } = request.query;
        if (since !== undefined && until !== undefined && since >= until)
          throw invalid('since', 'must be earlier than until');
        const filter = {
          ...(client?.kind === 'address' ? { client: client.ip } : {}),
          ...(domain !== undefined ? { domain } : {}),
          ...(list !== undefined ? { list } : {}),
          ...(action !== undefined ? { action } : {}),
          ...(since !== undefined ? { sinceMs: since } : {}),
          ...(until !== undefined ? { untilMs: until } : {}),
        };
        // A CIDR: the hosts seen inside it, by PostgreSQL's hosts or (fallback) this log's, as /events does.
        const network = client?.kind === 'network' ? client.cidr : undefined;
        return fleetOrLocal({
          self,
          instance,
          key: 'events',
          fleet: async (only) => {
            const clients = await networkClients('client', network, fleet);
            const page = await fleet.events({ ...filter, ...clients, ...only }, limit, cursor);
            return { rows: page.events.map(fleetEventView), nextCursor: cursorText(page.nextCursor) };
          },
          local: async () => {
            const clients = await networkClients('client', network, deps.events);
            const page = await deps.events.events({ ...filter, ...clients }, limit, cursor);
            return {
              rows: page.events.map((event) => localEventView(event, self)),
              nextCursor: cursorText(page.nextCursor),
            };
          },
        });
      },
    }),
    withQuery({
      method: 'GET',
      path: '/api/v1/fleet/hosts',
      auth: 'token',
      query: Type.Object({
        instance: Type.Optional(INSTANCE_PARAM),
        since: Type.Optional(timeParam('Hosts seen since then')),
        limit: limitParam('Hosts per page'),
        cursor: Type.Optional(fleetHostCursorParam('nextCursor of the previous page')),
      }),
      doc: {
        operationId: 'listFleetHosts',
        summary: 'Hosts per instance that saw them, most recently seen first, in keyset pages',
        tags: ['fleet'],
        responses: { 200: jsonResponse('Hosts', PAGE_SCHEMA), ...errorResponses(400, 401, 405, 500, 503) },
      },
      handle(request) {
        const { instance, since, limit, cursor } = request.query;
        return fleetOrLocal({
          self,
          instance,
          key: 'hosts',
          fleet: async (only) => {
            const page = await fleet.hosts(
              { ...only, ...(since !== undefined ? { sinceMs: since } : {}) },
              limit,
              cursor,
            );
            const next = page.nextCursor;
            return { rows: page.hosts.map(fleetHostView), nextCursor: next && encodeFleetHostCursor(next) };
          },
          local: async () => {
            // This instance's hosts page by (lastSeenMs, clientIp): the cursor's instance is always this one.
            const page = await deps.events.hostsPage(since, limit, cursor);
            const next = page.nextCursor;
            return {
              rows: page.hosts.map((host) => fleetHostView({ ...host, instance: self })),
              nextCursor: next && encodeFleetHostCursor({ ...next, instance: self }),
            };
          },
        });
      },
    }),
    withQuery({
      method: 'GET',
      path: '/api/v1/fleet/incidents',
      auth: 'token',
      query: Type.Object({
        state: Type.Optional(stringEnum(FLEET_STATES, { description: 'open, acknowledged or resolved' })),
        instance: Type.Optional(INSTANCE_PARAM),
        client: Type.Optional(clientIpParam('Client address')),
        limit: limitParam('Incidents at most'),
      }),
      doc: {
        operationId: 'listFleetIncidents',
        summary: 'Fleet incidents (one per host across instances), newest first; 503 without PostgreSQL',
        tags: ['fleet'],
        responses: { 200: jsonResponse('Incidents', PAGE_SCHEMA), ...errorResponses(400, 401, 405, 500, 503) },
      },
      async handle(request) {
        const { state, instance, client, limit } = request.query;
        const incidents = await fleet.incidents(
          {
            ...(state !== undefined ? { state } : {}),
            ...(instance !== undefined ? { instance } : {}),
            ...(client !== undefined ? { client } : {}),
          },
          limit,
        );
        return json(200, { source: 'fleet', instance: self, incidents: incidents.map(incidentView) });
      },
    }),
    changeRoute(deps, 'acknowledged'),
    changeRoute(deps, 'resolved'),
    fleetMinerLoginRoute(deps, INSTANCE_PARAM),
    {
      method: 'GET',
      path: '/api/v1/fleet/instances',
      auth: 'token',
      doc: {
        operationId: 'listFleetInstances',
        summary: 'The instances shipping to PostgreSQL, how far each has shipped, and whether this one reaches it',
        tags: ['fleet'],
        responses: { 200: jsonResponse('Instances', { type: 'object' }), ...errorResponses(401, 405, 503) },
      },
      async handle() {
        const status = fleet.status();
        const instances = await fleet.instances();
        return json(200, {
          instance: self,
          central: { reachable: status.reachable },
          instances: instances.map((i) => ({
            name: i.name,
            lastLocalId: i.lastLocalId,
            shippedEvents: i.shippedEvents,
            lastShipped: i.lastShippedMs === null ? null : isoTime(i.lastShippedMs),
            seen: isoTime(i.seenMs),
          })),
        });
      },
    },
  ];
}
