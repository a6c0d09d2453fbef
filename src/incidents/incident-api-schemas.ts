/**
 * The incident API's response shapes as JSON Schema, for the OpenAPI document (admin/openapi.ts
 * embeds them as components), and the acknowledge/resolve body. The views themselves are built in
 * admin/routes-incidents.ts.
 */
import { Type } from '@sinclair/typebox';
import { stringEnum } from '../config/schema-types.js';
import { HostIdentitySchema, IncidentPayloadSchema } from './incident-payload.js';
import { INCIDENT_STATES, MAX_NOTE_LENGTH, SEVERITIES } from './incident-state.js';

/** A reference to another component of the OpenAPI document. */
const componentRef = (name: string) => Type.Unsafe<unknown>({ $ref: `#/components/schemas/${name}` });
const time = Type.String({ format: 'date-time' });
const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const IncidentNoteBody = Type.Object(
  { note: Type.String({ minLength: 1, maxLength: MAX_NOTE_LENGTH, description: 'Why; shown in the history' }) },
  { additionalProperties: false },
);

export const IncidentSchema = Type.Object({
  id: Type.Integer(),
  clientIp: Type.String(),
  identity: Type.Union([HostIdentitySchema, Type.Null()]),
  state: stringEnum(INCIDENT_STATES),
  severity: stringEnum(SEVERITIES),
  firstSeen: time,
  lastSeen: time,
  attempts: Type.Integer({ description: 'Blocked or alerted queries, dropped ones included' }),
  distinctNames: Type.Integer(),
  lists: Type.Array(Type.String()),
  protocols: Type.Array(Type.String()),
  previousId: Type.Union([Type.Integer(), Type.Null()], { description: 'The incident this one recurs after' }),
  escalationLevel: Type.Integer({ description: 'Escalation steps taken (new names, attempts past 100, 1000 ...)' }),
  retro: Type.Boolean({
    description: 'Found by a retro-hunt: the host resolved names before a list had them (times are its queries)',
  }),
  acknowledged: Type.Union([Type.Object({ at: time, note: nullable(Type.String()) }), Type.Null()]),
  resolved: Type.Union([
    Type.Object({ at: time, note: nullable(Type.String()), by: stringEnum(['operator', 'auto'] as const) }),
    Type.Null(),
  ]),
});

export const IncidentPageSchema = Type.Object({
  incidents: Type.Array(componentRef('Incident')),
  nextCursor: nullable(Type.String({ description: 'Pass as `cursor` for the next (older) page; null on the last' })),
});

export const IncidentDetailSchema = Type.Object({
  incident: componentRef('Incident'),
  names: Type.Array(
    Type.Object({ qname: Type.String(), list: Type.String(), count: Type.Integer(), firstSeen: time, lastSeen: time }),
  ),
  hours: Type.Array(Type.Object({ hour: time, count: Type.Integer() }), { description: 'Attempts per hour' }),
  recentEvents: Type.Array(componentRef('Event')),
  minerLogins: Type.Array(componentRef('MinerLogin'), { description: 'Honeypot logins that escalated it (latest 50)' }),
  history: Type.Array(
    Type.Object({
      time,
      change: stringEnum(['opened', 'escalated', 'acknowledged', 'resolved'] as const),
      state: stringEnum(INCIDENT_STATES),
      actor: Type.String({ description: 'operator, auto or poolsink' }),
      note: nullable(Type.String()),
    }),
  ),
});

/** Components for the OpenAPI document, by name. */
export const INCIDENT_SCHEMAS = {
  Incident: IncidentSchema,
  IncidentPage: IncidentPageSchema,
  IncidentDetail: IncidentDetailSchema,
  IncidentNote: IncidentNoteBody,
  IncidentNotificationPayload: IncidentPayloadSchema,
} as const;
