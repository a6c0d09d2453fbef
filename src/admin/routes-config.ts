/**
 * The running configuration: POST /api/v1/reload (read the configuration file again, as SIGHUP
 * does) and POST /api/v1/token/rotate (a new admin token into the token file; the old one stops
 * working with this request). Both answer with TypeBox-described bodies.
 */
import { Type } from '@sinclair/typebox';
import type { RotatedToken } from './auth.js';
import type { ReloadResult } from '../config/reload-plan.js';
import { PoolsinkError } from '../errors.js';
import { errorResponses, jsonResponse } from './openapi.js';
import { json, type Route } from './route-types.js';

export interface ConfigurationApi {
  reload(): Promise<ReloadResult>;
  rotateToken(): Promise<RotatedToken>;
}

const keyList = (description: string) => Type.Array(Type.String(), { description });

export const ReloadResultSchema = Type.Object(
  {
    applied: keyList('Configuration keys whose new values are in use ("block.response", "blocklists")'),
    restartNeeded: keyList('Keys that differ from the running configuration and need a restart ("dns.listen")'),
  },
  { additionalProperties: false },
);

export const RotatedTokenSchema = Type.Object(
  {
    token: Type.String({ description: 'The new bearer token; the one this request used no longer works' }),
    tokenFile: Type.String({ description: 'The file that now holds it (mode 0600)' }),
  },
  { additionalProperties: false },
);

export function createConfigurationRoutes(api: ConfigurationApi): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/v1/reload',
      auth: 'token',
      doc: {
        operationId: 'reloadConfiguration',
        summary: 'Read the configuration file again (as SIGHUP does)',
        description:
          'Validated as at start. A bad file changes nothing (422, the key and problem in the message). ' +
          'Lists, allowlist, allowClients, upstreams, block answer, rate limits, log level and the admin ' +
          'token apply at once; keys that need a restart are listed in restartNeeded.',
        tags: ['system'],
        responses: {
          200: jsonResponse('Reloaded', ReloadResultSchema),
          ...errorResponses(401, 405, 422),
        },
      },
      async handle() {
        const result = await api.reload();
        if (!result.ok) throw new PoolsinkError(result.error.code, result.error.message);
        return json(200, { applied: result.applied, restartNeeded: result.restartNeeded });
      },
    },
    {
      method: 'POST',
      path: '/api/v1/token/rotate',
      auth: 'token',
      doc: {
        operationId: 'rotateAdminToken',
        summary: 'Replace the admin token with a new random one',
        description:
          'Writes it to the token file (admin.tokenFile, or the generated <dataDir>/admin-token) and uses ' +
          'it at once. 409 when admin.token is set in the configuration file: change it there and reload.',
        tags: ['system'],
        responses: {
          200: jsonResponse('The new token', RotatedTokenSchema),
          ...errorResponses(401, 405, 409, 500),
        },
      },
      async handle() {
        return json(200, await api.rotateToken());
      },
    },
  ];
}
