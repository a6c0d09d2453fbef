/**
 * GET /api/v1/fleet/miner-logins: the honeypot logins of every instance from PostgreSQL
 * (`source: "fleet"`), newest first by keyset; filters instance, client (address or CIDR), wallet, since, until. Without
 * PostgreSQL, this instance's own logins answer (`source: "local"`), as the other /fleet reads do.
 */
import { Type, type TString } from '@sinclair/typebox';
import { MAX_FIELD_CHARS } from '../honeypot/stratum-session.js';
import { errorResponses, jsonResponse } from './openapi.js';
import { cursorText, fleetOrLocal } from './fleet-fallback.js';
import { clientFilterParam, cursorParam, limitParam, timeParam } from './params.js';
import { withQuery, type Route } from './route-types.js';
import type { FleetRouteDeps } from './routes-fleet.js';
import { minerLoginFilter, minerLoginView } from './routes-miner-logins.js';

export function fleetMinerLoginRoute(deps: FleetRouteDeps, instanceParam: TString): Route {
  const { fleet } = deps;
  const self = fleet.instance;
  return withQuery({
    method: 'GET',
    path: '/api/v1/fleet/miner-logins',
    auth: 'token',
    query: Type.Object({
      instance: Type.Optional(instanceParam),
      client: Type.Optional(clientFilterParam('Client address or CIDR')),
      wallet: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: MAX_FIELD_CHARS,
          description: 'Exact wallet (the login up to its first ".")',
        }),
      ),
      since: Type.Optional(timeParam('Inclusive lower bound')),
      until: Type.Optional(timeParam('Exclusive upper bound')),
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
          description:
            '`source` is "fleet" (PostgreSQL) or "local" (fallback; `fallback.kind` "unreachable" or "timeout" and `fallback.reason` say why)',
        }),
        ...errorResponses(400, 401, 405, 500, 503),
      },
    },
    handle(request) {
      const { instance, limit, cursor } = request.query;
      const filter = minerLoginFilter(request.query);
      return fleetOrLocal({
        self,
        instance,
        key: 'logins',
        fleet: async (only) => {
          const page = await fleet.minerLogins({ ...filter, ...only }, limit, cursor);
          return { rows: page.logins.map(minerLoginView), nextCursor: cursorText(page.nextCursor) };
        },
        local: async () => {
          const page = await deps.events.minerLogins(filter, limit, cursor);
          const rows = page.logins.map((login) =>
            minerLoginView({ ...login, instance: self, localId: login.id, incidentId: null }),
          );
          return { rows, nextCursor: cursorText(page.nextCursor) };
        },
      });
    },
  });
}
