/**
 * GET /api/v1/fleet/miner-logins: the honeypot logins of every instance from PostgreSQL
 * (`source: "fleet"`), newest first by keyset; filters instance, client, wallet, since. Without
 * PostgreSQL, this instance's own logins answer (`source: "local"`), as the other /fleet reads do.
 */
import { Type, type TString } from '@sinclair/typebox';
import { isCentralUnreachable } from '../central/central-db.js';
import type { FleetMinerLogin } from '../central/fleet-queries.js';
import { MAX_FIELD_CHARS } from '../honeypot/stratum-session.js';
import { isoTime } from './export.js';
import { errorResponses, jsonResponse } from './openapi.js';
import { clientIpParam, cursorParam, encodeCursor, limitParam, timeParam } from './params.js';
import { json, withQuery, type Route } from './route-types.js';
import type { FleetRouteDeps } from './routes-fleet.js';

function loginView(login: FleetMinerLogin): Record<string, unknown> {
  return { ...login, time: isoTime(login.timeMs) };
}

export function fleetMinerLoginRoute(deps: FleetRouteDeps, instanceParam: TString): Route {
  const { fleet } = deps;
  const self = fleet.instance;
  return withQuery({
    method: 'GET',
    path: '/api/v1/fleet/miner-logins',
    auth: 'token',
    query: Type.Object({
      instance: Type.Optional(instanceParam),
      client: Type.Optional(clientIpParam('Client address')),
      wallet: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: MAX_FIELD_CHARS,
          description: 'Exact wallet (the login up to its first ".")',
        }),
      ),
      since: Type.Optional(timeParam('Inclusive lower bound')),
      limit: limitParam('Logins per page'),
      cursor: Type.Optional(cursorParam('nextCursor of the previous page')),
    }),
    doc: {
      operationId: 'listFleetMinerLogins',
      summary:
        'Miner logins caught by the honeypots of every instance, newest first (this instance only, source "local", without PostgreSQL)',
      tags: ['fleet'],
      responses: {
        200: jsonResponse('A page', {
          type: 'object',
          description: '`source` is "fleet" (PostgreSQL) or "local" (fallback)',
        }),
        ...errorResponses(400, 401, 405, 500, 503),
      },
    },
    async handle(request) {
      const { instance, client, wallet, since, limit, cursor } = request.query;
      const filter = {
        ...(client !== undefined ? { client } : {}),
        ...(wallet !== undefined ? { wallet } : {}),
        ...(since !== undefined ? { sinceMs: since } : {}),
      };
      try {
        const page = await fleet.minerLogins(
          { ...filter, ...(instance !== undefined ? { instance } : {}) },
          limit,
          cursor,
        );
        return json(200, {
          source: 'fleet',
          instance: self,
          logins: page.logins.map(loginView),
          nextCursor: page.nextCursor === undefined ? null : encodeCursor(page.nextCursor),
        });
      } catch (err: unknown) {
        if (!isCentralUnreachable(err)) throw err;
      }
      if (instance !== undefined && instance !== self)
        return json(200, { source: 'local', instance: self, logins: [], nextCursor: null });
      const page = await deps.events.minerLogins(filter, limit, cursor);
      return json(200, {
        source: 'local',
        instance: self,
        logins: page.logins.map((login) =>
          loginView({ ...login, instance: self, localId: login.id, incidentId: null }),
        ),
        nextCursor: page.nextCursor === undefined ? null : encodeCursor(page.nextCursor),
      });
    },
  });
}
