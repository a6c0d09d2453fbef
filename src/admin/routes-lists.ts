/**
 * Verdicts and runtime list management: /check, /lists, /lists/{name}, the refresh routes and
 * /allowlist. Changes go through ListManagement, which persists them and swaps the matcher.
 * Query parameters are declared once per route (`query`, read by withQuery; see query.ts).
 */
import { Type } from '@sinclair/typebox';
import type { ListInfo, ListManagement } from '../blocklist/list-api.js';
import { verdictView } from '../blocklist/verdict-view.js';
import { HttpError } from './http-errors.js';
import { isoTime } from './export.js';
import type { ResolverView } from './metrics.js';
import { parseAllowlistBody, parseListDefinition, parseListPatch } from './bodies.js';
import { domainParam, parseListName } from './params.js';
import { LIST_NAME_SCHEMA, errorResponses, jsonBody, jsonResponse, pathParam, ref } from './openapi.js';
import { NO_CONTENT, json, withQuery, type Route } from './route-types.js';

export interface ListRouteDeps {
  readonly resolver: Pick<ResolverView, 'matcher'>;
  readonly lists?: ListManagement;
  readonly clock: () => number;
}

export function listView(list: ListInfo, nowMs: number): Record<string, unknown> {
  return {
    name: list.name,
    source: list.source,
    format: list.format,
    mode: list.mode,
    origin: list.origin,
    refreshSec: list.refreshSec,
    maxShrinkPercent: list.maxShrinkPercent,
    resolveForIps: list.resolveForIps,
    entries: list.entries,
    skipped: list.skipped,
    skippedByReason: list.skippedByReason,
    lastFetch: list.lastFetchMs === undefined ? null : isoTime(list.lastFetchMs),
    lastChange: list.lastChangeMs === undefined ? null : isoTime(list.lastChangeMs),
    ageSec: list.lastChangeMs === undefined ? null : Math.max(0, Math.round((nowMs - list.lastChangeMs) / 1000)),
    lastError: list.lastError ?? null,
    loadedFrom: list.loadedFrom ?? null,
  };
}

const ForceQuery = Type.Object({
  force: Type.Boolean({ default: false, description: 'Apply the update even when the shrink guard would reject it' }),
});
const NAME = pathParam('name', 'List name', LIST_NAME_SCHEMA);

export function createListRoutes(deps: ListRouteDeps): Route[] {
  function manager(): ListManagement {
    if (deps.lists === undefined) throw new HttpError('ERR_UNAVAILABLE', 'list management is not running');
    return deps.lists;
  }

  return [
    withQuery({
      method: 'GET',
      path: '/api/v1/check',
      auth: 'token',
      query: Type.Object({ domain: domainParam('The name to check', { examples: ['x.pool.example'] }) }),
      doc: {
        operationId: 'checkDomain',
        summary: 'The verdict the resolver would give a name now',
        tags: ['lists'],
        responses: { 200: jsonResponse('The verdict', ref('Verdict')), ...errorResponses(400, 401, 405) },
      },
      handle(request) {
        const { domain } = request.query;
        return json(200, verdictView(domain, deps.resolver.matcher.match(domain)));
      },
    }),
    {
      method: 'GET',
      path: '/api/v1/lists',
      auth: 'token',
      doc: {
        operationId: 'listLists',
        summary: 'Every list with its state; origin tells configuration lists from runtime ones',
        tags: ['lists'],
        responses: { 200: jsonResponse('The lists', ref('ListList')), ...errorResponses(401, 405, 503) },
      },
      handle(request) {
        return json(200, {
          lists: manager()
            .lists()
            .map((l) => listView(l, request.nowMs)),
        });
      },
    },
    withQuery({
      method: 'POST',
      path: '/api/v1/lists',
      auth: 'token',
      query: Type.Object({
        force: Type.Boolean({
          default: false,
          description: 'Add the list even when the guards would refuse it (it parses to no entries)',
        }),
      }),
      doc: {
        operationId: 'addList',
        summary: 'Add a list source at runtime (persisted); its source is fetched once, here',
        tags: ['lists'],
        requestBody: jsonBody(ref('ListDefinition')),
        responses: {
          201: jsonResponse('Added and loaded', ref('ListResult')),
          ...errorResponses(400, 401, 405, 409, 413, 415, 422, 502, 503),
        },
      },
      async handle(request) {
        const definition = parseListDefinition(await request.body());
        const list = await manager().addList(definition, { force: request.query.force });
        return json(201, { list: listView(list, deps.clock()) });
      },
    }),
    {
      method: 'PATCH',
      path: '/api/v1/lists/{name}',
      auth: 'token',
      doc: {
        operationId: 'updateList',
        summary: 'Change a runtime list (configuration lists are read-only: 409)',
        tags: ['lists'],
        parameters: [NAME],
        requestBody: jsonBody(ref('ListPatch')),
        responses: {
          200: jsonResponse('Updated', ref('ListResult')),
          ...errorResponses(400, 401, 404, 405, 409, 413, 415, 422, 502, 503),
        },
      },
      async handle(request) {
        const name = parseListName('name', request.params['name'] ?? '');
        const patch = parseListPatch(await request.body());
        const list = await manager().updateList(name, patch);
        return json(200, { list: listView(list, deps.clock()) });
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/lists/{name}',
      auth: 'token',
      doc: {
        operationId: 'removeList',
        summary: 'Remove a runtime list (configuration lists are read-only: 409)',
        tags: ['lists'],
        parameters: [NAME],
        responses: { 204: { description: 'Removed' }, ...errorResponses(400, 401, 404, 405, 409, 503) },
      },
      async handle(request) {
        const name = parseListName('name', request.params['name'] ?? '');
        await manager().removeList(name);
        return NO_CONTENT;
      },
    },
    withQuery({
      method: 'POST',
      path: '/api/v1/lists/{name}/refresh',
      auth: 'token',
      query: ForceQuery,
      doc: {
        operationId: 'refreshList',
        summary: 'Fetch or re-read one list now',
        description: 'A failed fetch or a rejected update is reported in the result; the previous entries stay.',
        tags: ['lists'],
        parameters: [NAME],
        responses: { 200: jsonResponse('Outcome', ref('RefreshResults')), ...errorResponses(400, 401, 404, 405, 503) },
      },
      async handle(request) {
        const name = parseListName('name', request.params['name'] ?? '');
        return json(200, { results: await manager().refresh(name, { force: request.query.force }) });
      },
    }),
    withQuery({
      method: 'POST',
      path: '/api/v1/lists/refresh',
      auth: 'token',
      query: ForceQuery,
      doc: {
        operationId: 'refreshLists',
        summary: 'Fetch or re-read every list now',
        tags: ['lists'],
        responses: {
          200: jsonResponse('Outcome per list', ref('RefreshResults')),
          ...errorResponses(400, 401, 405, 503),
        },
      },
      async handle(request) {
        return json(200, { results: await manager().refresh(undefined, { force: request.query.force }) });
      },
    }),
    {
      method: 'GET',
      path: '/api/v1/allowlist',
      auth: 'token',
      doc: {
        operationId: 'getAllowlist',
        summary: 'Allowlist entries (configuration and runtime)',
        tags: ['lists'],
        responses: { 200: jsonResponse('Entries', ref('Allowlist')), ...errorResponses(401, 405, 503) },
      },
      handle() {
        return json(200, { entries: manager().allowlist() });
      },
    },
    {
      method: 'POST',
      path: '/api/v1/allowlist',
      auth: 'token',
      doc: {
        operationId: 'addAllowlistEntry',
        summary: 'Allow a name and its subdomains; takes effect at once and persists',
        tags: ['lists'],
        requestBody: jsonBody(ref('AllowlistBody')),
        responses: {
          201: jsonResponse('Added', ref('AllowlistEntry')),
          ...errorResponses(400, 401, 405, 409, 413, 415, 503),
        },
      },
      async handle(request) {
        const domain = parseAllowlistBody(await request.body());
        return json(201, await manager().allow(domain));
      },
    },
    withQuery({
      method: 'DELETE',
      path: '/api/v1/allowlist',
      auth: 'token',
      query: Type.Object({ domain: Type.Optional(domainParam('The entry to remove (instead of a body)')) }),
      doc: {
        operationId: 'removeAllowlistEntry',
        summary: 'Remove a runtime allowlist entry (configuration entries are read-only: 409)',
        description: 'The name is given as ?domain= or, without it, in a JSON body ({"domain": ...}).',
        tags: ['lists'],
        requestBody: { ...jsonBody(ref('AllowlistBody')), required: false },
        responses: { 204: { description: 'Removed' }, ...errorResponses(400, 401, 404, 405, 409, 413, 415, 503) },
      },
      async handle(request) {
        const domain = request.query.domain ?? parseAllowlistBody(await request.body());
        await manager().unallow(domain);
        return NO_CONTENT;
      },
    }),
  ];
}
