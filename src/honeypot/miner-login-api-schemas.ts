/**
 * The miner-login API's response shapes as JSON Schema, for the OpenAPI document (admin/openapi.ts
 * embeds them as components). The views are built in admin/routes-miner-logins.ts.
 */
import { Type } from '@sinclair/typebox';
import { stringEnum } from '../config/schema-types.js';
import { HostIdentitySchema } from '../incidents/incident-payload.js';
import { STRATUM_FLAVOURS } from './stratum-session.js';

const nullableString = (description: string) => Type.Union([Type.String(), Type.Null()], { description });
const componentRef = (name: string) => Type.Unsafe<unknown>({ $ref: `#/components/schemas/${name}` });

export const MinerLoginSchema = Type.Object({
  id: Type.Integer(),
  time: Type.String({ format: 'date-time' }),
  timeMs: Type.Integer(),
  clientIp: Type.String(),
  clientPort: Type.Integer(),
  identity: Type.Union([HostIdentitySchema, Type.Null()]),
  port: Type.Integer({ description: 'The honeypot port the miner connected to' }),
  tls: Type.Boolean(),
  protocol: stringEnum(STRATUM_FLAVOURS, { description: 'The stratum flavour the miner spoke' }),
  login: Type.String({ description: 'The login as sent (client text: escape before display)' }),
  wallet: Type.String({ description: 'The login up to its first "."' }),
  worker: nullableString('Worker (rig) name'),
  password: nullableString('The password field (often "x" or a worker name)'),
  agent: nullableString('Miner program and version'),
  algorithms: Type.Array(Type.String()),
  incidentId: Type.Union([Type.Integer(), Type.Null()], { description: 'The incident the login escalated' }),
});

export const MinerLoginPageSchema = Type.Object({
  logins: Type.Array(componentRef('MinerLogin')),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next (older) page' }),
});

export const MINER_LOGIN_SCHEMAS = { MinerLogin: MinerLoginSchema, MinerLoginPage: MinerLoginPageSchema } as const;
