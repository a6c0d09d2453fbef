/**
 * The query-string mechanism (src/admin/query.ts): one TypeBox object schema per route gives the
 * handler's values, the 400s naming the parameter, and the route's OpenAPI parameters.
 */
import { Type } from '@sinclair/typebox';
import { describe, expect, test } from 'vitest';
import { InvalidParameterError } from '../../src/admin/http-errors.js';
import { createQueryReader, queryParameters } from '../../src/admin/query.js';
import { limitParam, timeParam } from '../../src/admin/params.js';
import { stringEnum } from '../../src/config/schema-types.js';

const NOW = Date.parse('2024-06-15T12:00:00Z');

const Things = Type.Object({
  since: timeParam('Window start', { default: '24h' }),
  until: Type.Optional(timeParam('Window end')),
  limit: limitParam('Things at most'),
  force: Type.Boolean({ default: false, description: 'Force it' }),
  kind: stringEnum(['a', 'b'], { default: 'a', description: 'Which kind' }),
  tag: Type.Optional(
    Type.String({
      description: 'A tag',
      maxLength: 8,
      pattern: '^[a-z]+$',
      errorMessage: 'must be lower-case letters',
    }),
  ),
  name: Type.String({ description: 'Required name' }),
});

const read = createQueryReader(Things);

function errorOf(text: string): string | undefined {
  try {
    read(new URLSearchParams(text), { nowMs: NOW });
  } catch (err: unknown) {
    if (err instanceof InvalidParameterError) return err.message;
    throw err;
  }
  return undefined;
}

describe('reading a query string', () => {
  test('defaults are decoded as if given; optional parameters stay absent', () => {
    const query = read(new URLSearchParams('name=x'), { nowMs: NOW });
    expect(query).toEqual({ since: NOW - 86_400_000, limit: 100, force: false, kind: 'a', name: 'x' });
    expect('until' in query).toBe(false);
  });

  test('given values', () => {
    const text = 'name=x&since=1h&until=2024-06-15T12:00:00Z&limit=7&force=1&kind=b&tag=abc';
    expect(read(new URLSearchParams(text), { nowMs: NOW })).toEqual({
      since: NOW - 3_600_000,
      until: NOW,
      limit: 7,
      force: true,
      kind: 'b',
      tag: 'abc',
      name: 'x',
    });
  });

  test.each([
    ['', 'name: is required'],
    ['name=x&name=y', 'name: given more than once'],
    ['name=', 'name: must not be empty'],
    ['name=x&nmae=y', 'nmae: unknown parameter (accepted: since, until, limit, force, kind, tag, name)'],
    ['name=x&limit=0', 'limit: must be an integer from 1 to 1000'],
    ['name=x&limit=1e3', 'limit: must be an integer from 1 to 1000'],
    ['name=x&force=yes', 'force: must be true or false'],
    ['name=x&kind=c', 'kind: must be one of a, b'],
    ['name=x&tag=abcdefghi', 'tag: must be at most 8 characters'],
    ['name=x&tag=ABC', 'tag: must be lower-case letters'],
    [
      'name=x&since=yesterday',
      'since: must be an ISO-8601 time (2024-05-01T12:00:00Z) or a duration (30s, 15m, 24h, 7d)',
    ],
  ])('%j → %s', (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  test.each([
    ['no description', Type.Object({ x: Type.Integer({ minimum: 1, maximum: 2 }) })],
    ['an integer without bounds', Type.Object({ x: Type.Integer({ description: 'x' }) })],
    ['a type it cannot read', Type.Object({ x: Type.Number({ description: 'x' }) })],
  ])('a schema with %s is refused when the route is built', (_label, schema) => {
    expect(() => createQueryReader(schema)).toThrow(/query parameter x/);
  });
});

describe('OpenAPI parameters', () => {
  test('from the same schema: description on the parameter, required only without a default', () => {
    const parameters = JSON.parse(JSON.stringify(queryParameters(Things)));
    expect(parameters.map((p: { name: string }) => p.name)).toEqual(Object.keys(Things.properties));
    expect(
      parameters.filter((p: { required?: boolean }) => p.required === true).map((p: { name: string }) => p.name),
    ).toEqual(['name']);
    expect(parameters[2]).toEqual({
      name: 'limit',
      in: 'query',
      description: 'Things at most',
      schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    });
    expect(parameters[0].schema).toMatchObject({ type: 'string', default: '24h' });
    expect(parameters[0].description).toMatch(/^Window start: an ISO-8601 date/);
  });
});
