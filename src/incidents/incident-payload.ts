/**
 * The payload of incident notifications (incident.opened, incident.escalated, incident.resolved),
 * defined once as a schema: its TypeScript type, and the document receivers read (the NOTIFY part
 * puts IncidentPayloadSchema into the OpenAPI document).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { HostIdentity } from '../inventory/host-identity.js';
import { stringEnum } from '../config/schema-types.js';
import { INCIDENT_STATES, SEVERITIES } from './incident-state.js';
import type { ActiveIncident, NameRow } from './incident-store.js';

/** Names a notification carries at most (the most tried first). */
export const PAYLOAD_TOP_NAMES = 5;

export const HostIdentitySchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    instanceId: Type.Optional(Type.String()),
    account: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
    source: stringEnum(['inventory', 'reverse-dns'] as const),
  },
  { description: "Who the client address was when the incident's events were recorded" },
);

export const IncidentPayloadSchema = Type.Object(
  {
    id: Type.Integer({ description: 'The incident id (GET /api/v1/incidents/{id})' }),
    client: Type.String({ description: 'Client IP address' }),
    identity: Type.Union([HostIdentitySchema, Type.Null()]),
    state: stringEnum(INCIDENT_STATES),
    severity: stringEnum(SEVERITIES),
    names: Type.Array(Type.Object({ qname: Type.String(), list: Type.String(), count: Type.Integer() }), {
      description: `The most tried names, at most ${PAYLOAD_TOP_NAMES}`,
    }),
    distinctNames: Type.Integer(),
    attempts: Type.Integer({ description: 'Blocked or alerted queries counted, dropped ones included' }),
    firstSeen: Type.String({ format: 'date-time' }),
    lastSeen: Type.String({ format: 'date-time' }),
    previousId: Type.Union([Type.Integer(), Type.Null()], { description: 'The incident this one recurs after' }),
    escalationLevel: Type.Integer(),
    reasons: Type.Optional(Type.Array(Type.String(), { description: 'incident.escalated: what escalated it' })),
    note: Type.Optional(Type.String({ description: 'incident.resolved: the operator note' })),
    resolvedBy: Type.Optional(stringEnum(['operator', 'auto'] as const)),
    retro: Type.Optional(
      Type.Boolean({
        description:
          'Found by a retro-hunt: the client resolved names before a list had them; the times are those of its queries',
      }),
    ),
  },
  { additionalProperties: false },
);

export type IncidentPayload = Static<typeof IncidentPayloadSchema>;

function parseIdentity(json: string | null): HostIdentity | null {
  if (json === null) return null;
  const value: unknown = JSON.parse(json);
  return typeof value === 'object' && value !== null && 'source' in value
    ? { ...value, source: identitySource(value.source) }
    : null;
}

function identitySource(source: unknown): HostIdentity['source'] {
  return source === 'reverse-dns' ? 'reverse-dns' : 'inventory';
}

export function incidentPayload(
  incident: Pick<
    ActiveIncident,
    | 'id'
    | 'clientIp'
    | 'severity'
    | 'openedMs'
    | 'lastSeenMs'
    | 'attempts'
    | 'names'
    | 'previousId'
    | 'identityJson'
    | 'escalationLevel'
  > & { readonly state: ActiveIncident['state'] | 'resolved' },
  names: readonly NameRow[],
  extra: Pick<IncidentPayload, 'reasons' | 'note' | 'resolvedBy' | 'retro'> = {},
): IncidentPayload {
  return {
    id: incident.id,
    client: incident.clientIp,
    identity: parseIdentity(incident.identityJson),
    state: incident.state,
    severity: incident.severity,
    names: names.map((n) => ({ qname: n.qname, list: n.list, count: n.count })),
    distinctNames: incident.names,
    attempts: incident.attempts,
    firstSeen: new Date(incident.openedMs).toISOString(),
    lastSeen: new Date(incident.lastSeenMs).toISOString(),
    previousId: incident.previousId,
    escalationLevel: incident.escalationLevel,
    ...extra,
  };
}
