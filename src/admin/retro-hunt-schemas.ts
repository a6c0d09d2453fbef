/**
 * The answer of POST /api/v1/retro-hunt as JSON Schema, for the OpenAPI document (openapi.ts embeds
 * it as a component); the view is built in routes-retro-hunt.ts.
 */
import { Type } from '@sinclair/typebox';
import { HostIdentitySchema } from '../incidents/incident-payload.js';

const time = Type.String({ format: 'date-time' });

export const RetroHuntResultSchema = Type.Object(
  {
    clients: Type.Array(
      Type.Object({
        client: Type.String({ description: 'Client IP address' }),
        identity: Type.Optional(HostIdentitySchema),
        names: Type.Array(
          Type.Object({ qname: Type.String(), firstTime: time, lastTime: time, count: Type.Integer() }),
          { description: 'Names it resolved, the most queried first (at most 50)' },
        ),
        firstTime: Type.String({ format: 'date-time', description: 'Its first matching query kept' }),
        lastTime: Type.String({
          format: 'date-time',
          description: 'The first matching query of the latest hour it queried one (history keeps one row an hour)',
        }),
        count: Type.Integer({ description: 'Matching queries counted' }),
      }),
    ),
    rowsRead: Type.Integer({ description: 'History rows read' }),
    truncated: Type.Boolean({ description: 'The search stopped at its row cap: some rows were not read' }),
    incidents: Type.Integer({ description: 'Incidents opened or joined (record: true)' }),
  },
  { additionalProperties: false },
);

/** Components for the OpenAPI document, by name. */
export const RETRO_HUNT_SCHEMAS = { RetroHuntResult: RetroHuntResultSchema } as const;
