/**
 * GET /api/v1/miner-logins: the stratum honeypot's logins (src/honeypot/), newest first, keyset
 * pages like /events; filters client (address or CIDR), wallet, since, until. Reads go through the
 * reader thread.
 */
import { Type } from '@sinclair/typebox';
import type { FleetMinerLogin } from '../central/fleet-queries.js';
import type { MinerLoginFilter, StoredMinerLogin } from '../honeypot/miner-login-queries.js';
import { MAX_FIELD_CHARS } from '../honeypot/stratum-session.js';
import type { EventReader } from '../store/types.js';
import { isoTime } from './export.js';
import { errorResponses, jsonResponse, ref } from './openapi.js';
import { clientFilterParam, cursorParam, encodeCursor, limitParam, timeParam, type ClientFilter } from './params.js';
import { bounded, invalid, parsedParam } from './query.js';
import { json, withQuery, type Route } from './route-types.js';

export function minerLoginView(login: StoredMinerLogin | FleetMinerLogin): Record<string, unknown> {
  return { ...login, time: isoTime(login.timeMs) };
}

/** The filter of a miner-login query (local and fleet): client address or CIDR, wallet, time bounds. */
export function minerLoginFilter(query: {
  readonly client?: ClientFilter | undefined;
  readonly wallet?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}): MinerLoginFilter {
  const { client, wallet, since, until } = query;
  if (since !== undefined && until !== undefined && since >= until)
    throw invalid('since', 'must be earlier than until');
  return {
    ...(client?.kind === 'address' ? { client: client.ip } : {}),
    ...(client?.kind === 'network' ? { network: client.cidr } : {}),
    ...(wallet !== undefined ? { wallet } : {}),
    ...(since !== undefined ? { sinceMs: since } : {}),
    ...(until !== undefined ? { untilMs: until } : {}),
  };
}

function parseWallet(param: string, value: string): string {
  const text = bounded(param, value);
  if (text.length > MAX_FIELD_CHARS) throw invalid(param, `must be at most ${MAX_FIELD_CHARS} characters`);
  return text;
}

export function createMinerLoginRoutes(deps: { readonly events: EventReader }): Route[] {
  return [
    withQuery({
      method: 'GET',
      path: '/api/v1/miner-logins',
      auth: 'token',
      query: Type.Object({
        client: Type.Optional(clientFilterParam('Client address or CIDR')),
        wallet: Type.Optional(
          parsedParam(parseWallet, {
            description: 'Exact wallet (the login up to its first ".")',
            maxLength: MAX_FIELD_CHARS,
          }),
        ),
        since: Type.Optional(timeParam('Inclusive lower bound')),
        until: Type.Optional(timeParam('Exclusive upper bound')),
        limit: limitParam('Logins per page'),
        cursor: Type.Optional(cursorParam('nextCursor of the previous page')),
      }),
      doc: {
        operationId: 'listMinerLogins',
        summary: 'Miner logins caught by the stratum honeypot, newest first',
        tags: ['events'],
        responses: { 200: jsonResponse('A page', ref('MinerLoginPage')), ...errorResponses(400, 401, 405, 500, 503) },
      },
      async handle(request) {
        const { limit, cursor } = request.query;
        const filter = minerLoginFilter(request.query);
        const page = await deps.events.minerLogins(filter, limit, cursor);
        return json(200, {
          logins: page.logins.map(minerLoginView),
          nextCursor: page.nextCursor === undefined ? null : encodeCursor(page.nextCursor),
        });
      },
    }),
  ];
}
