/**
 * The OpenAPI document is generated from the same schemas the API validates with, and it is valid
 * OpenAPI 3.1 by an independent validator (@seriousme/openapi-schema-validator), not by eye.
 */
import { zeroCounters } from '../../src/dns/resolver-counters.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, test } from 'vitest';
import { ListDefinitionBody, ListPatchBody } from '../../src/admin/bodies.js';
import { createRoutes, type AdminDeps } from '../../src/admin/routes.js';
import { createMatcher } from '../../src/blocklist/matcher.js';
import { ListNameSchema } from '../../src/config/list-schema.js';

function unused(): never {
  throw new Error('not called while building the document');
}

function deps(): AdminDeps {
  return {
    resolver: {
      counters: {
        ...zeroCounters(),
      },
      matcher: createMatcher([], []),
      pending: 0,
    },
    cache: { size: 0 },
    upstream: {
      stats: { sent: 0, answered: 0, timeouts: 0, mismatched: 0, tcpRetries: 0, errors: 0 },
      health: () => [],
    },
    events: {
      clientsIn: unused,
      events: unused,
      iterateEvents: unused,
      hosts: unused,
      hostsPage: unused,
      host: unused,
      stats: unused,
      incidents: unused,
      incident: unused,
      timeseries: unused,
      overview: unused,
      minerLogins: unused,
    },
    eventWriter: { stats: { buffered: 0, written: 0, dropped: 0, writeErrors: 0, healthy: true } },
    health: () => ({ serving: true, listeners: [] }),
    configuration: { reload: unused, rotateToken: unused },
  };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}

async function openApiDocument(): Promise<Record<string, unknown>> {
  const route = createRoutes(deps(), { metricsAuth: true }).find((r) => r.path === '/api/v1/openapi.json');
  if (route === undefined) throw new Error('no openapi route');
  const reply = await route.handle({ params: {}, query: new URLSearchParams(), nowMs: 0, body: unused });
  if (reply.kind !== 'json') throw new Error(`unexpected reply ${reply.kind}`);
  // As a client receives it: JSON, without the schema library's symbol keys.
  const doc: unknown = JSON.parse(JSON.stringify(reply.body));
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not an object');
  return Object.fromEntries(Object.entries(doc));
}

describe('OpenAPI document', () => {
  test('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(await openApiDocument());
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  test('embeds the request body schemas the API validates with', async () => {
    const doc = await openApiDocument();
    expect(doc['components']).toMatchObject({
      schemas: {
        ListDefinition: JSON.parse(JSON.stringify(ListDefinitionBody)),
        ListPatch: JSON.parse(JSON.stringify(ListPatchBody)),
      },
    });
    const paths = JSON.stringify(doc['paths']);
    expect(paths).toContain(JSON.stringify(ListNameSchema.pattern));
  });

  test("every route documents exactly its query schema's parameters, and its path's parameters", async () => {
    const paths = field(await openApiDocument(), 'paths');
    const routes = createRoutes(deps(), { metricsAuth: true });
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      const operation = field(field(paths, route.path), route.method.toLowerCase());
      const parameters = field(operation, 'parameters') ?? [];
      if (!Array.isArray(parameters)) throw new Error(`${route.path}: parameters is not an array`);
      const documented = (place: string): unknown[] =>
        parameters.filter((p: unknown) => field(p, 'in') === place).map((p: unknown) => field(p, 'name'));
      const label = `${route.method} ${route.path}`;
      expect(documented('query'), label).toEqual(Object.keys(route.query?.properties ?? {}));
      expect(documented('path'), label).toEqual([...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
      for (const parameter of parameters) expect(field(parameter, 'description'), label).toMatch(/\S/);
    }
  });
});
