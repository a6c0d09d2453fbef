/**
 * Query strings, defined once per route as a TypeBox object schema. The schema is the source of
 * the handler's type (Static<>), of the validation below and of the route's OpenAPI `parameters`
 * (openapi.ts), so the documented parameters are exactly the accepted ones.
 *
 * How to give a route query parameters (see withQuery in route-types.ts):
 *
 *   withQuery({
 *     method: 'GET', path: '/api/v1/things', auth: 'token', doc: { ... no query parameters here ... },
 *     query: Type.Object({
 *       since: Type.Optional(timeParam('Only things seen since then')),   // optional: absent stays absent
 *       limit: limitParam('Things at most'),                               // has a default: always set
 *       kind: stringEnum(['a', 'b'], { default: 'a', description: 'Which things' }),
 *     }),
 *     handle({ query }) { ... query.since: number | undefined, query.limit: number, query.kind: 'a' | 'b' },
 *   })
 *
 * Every property needs a `description` (it becomes the parameter's). A property is required when it
 * is neither Type.Optional nor has a `default`; an absent parameter with a `default` is decoded from
 * that default, as if it had been given. What a property may be, and how its text is read:
 * - Type.Integer({ minimum, maximum }): decimal digits only (no sign, exponent or spaces), in range;
 * - Type.Boolean(): true, false, 1 or 0;
 * - stringEnum([...]) (src/config/schema-types.ts): one of the values;
 * - Type.String({ maxLength?, pattern?, errorMessage? }): not empty, at most 1024 characters;
 * - parsedParam(decoder, options): a string read by its own parser into any type (times, cursors,
 *   IPs, domain names: the builders in params.ts). The decoder checks everything; the options
 *   document the same constants it checks against.
 * Every failure is an InvalidParameterError naming the parameter; a parameter given twice, or one the
 * schema does not name, is refused too.
 */
import { Type, type SchemaOptions, type Static, type TObject, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { InvalidParameterError } from './http-errors.js';

/** What a decoder may depend on besides the text. */
export interface QueryContext {
  readonly nowMs: number;
}

/** Reads one parameter's text; throws an InvalidParameterError naming `param` when it is invalid. */
export type QueryDecoder<T> = (param: string, text: string, context: QueryContext) => T;

/** A query parameter as the OpenAPI document lists it (openapi.ts's ParameterDoc, `in: 'query'`). */
export interface QueryParameterDoc {
  readonly name: string;
  readonly in: 'query';
  readonly required?: boolean;
  readonly description: string;
  readonly schema: Readonly<Record<string, unknown>>;
}

/** Longer inputs are refused before any parsing. */
export const MAX_PARAM_LENGTH = 1024;

const DECODER = Symbol('poolsink.queryDecoder');

export function invalid(param: string, problem: string): InvalidParameterError {
  return new InvalidParameterError(param, problem);
}

/** Not empty and at most MAX_PARAM_LENGTH characters: the first check of every free-text parameter. */
export function bounded(param: string, value: string): string {
  if (value.length === 0) throw invalid(param, 'must not be empty');
  if (value.length > MAX_PARAM_LENGTH) throw invalid(param, `must be at most ${MAX_PARAM_LENGTH} characters`);
  return value;
}

/** The one value of `name`, undefined when absent; given twice is an error. */
export function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw invalid(name, 'given more than once');
  return values[0];
}

/** Refuses any parameter outside `allowed` (a typo like `clinet=` would otherwise widen the result). */
export function checkParamNames(query: URLSearchParams, allowed: readonly string[]): void {
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      const shown = name.length > 64 ? `${name.slice(0, 64)}...` : name;
      throw invalid(
        shown,
        allowed.length === 0 ? 'this route takes no parameters' : `unknown parameter (accepted: ${allowed.join(', ')})`,
      );
    }
  }
}

/** An integer from `min` to `max` in decimal digits; out of range is an error, not clamped. */
export function parseInteger(param: string, value: string, min: number, max: number): number {
  const text = bounded(param, value);
  const n = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) throw invalid(param, `must be an integer from ${min} to ${max}`);
  return n;
}

export function parseBoolean(param: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalid(param, 'must be true or false');
}

/** A string parameter read by `decode`; the schema says `type: string` plus what `options` document. */
export function parsedParam<T>(decode: QueryDecoder<T>, options: SchemaOptions): TUnsafe<T> {
  const schema = Type.Unsafe<T>({ ...options, type: 'string' });
  Object.defineProperty(schema, DECODER, { value: decode, enumerable: true });
  return schema;
}

/** The names a query schema accepts, in order; none without a schema. */
export function queryParamNames(schema: TObject | undefined): string[] {
  return schema === undefined ? [] : Object.keys(schema.properties);
}

/**
 * The OpenAPI parameters of a query schema, in its order: the description moves from the property
 * to the parameter; required when the property is neither optional nor has a default.
 */
export function queryParameters(query: TObject | undefined): QueryParameterDoc[] {
  if (query === undefined) return [];
  const required = new Set(query.required ?? []);
  return Object.entries(query.properties).map(([name, property]) => {
    // Object.entries leaves out the schema library's symbol keys (and the decoder): plain JSON Schema.
    const { description, ...schema } = Object.fromEntries(Object.entries(property));
    return {
      name,
      in: 'query',
      ...(required.has(name) && !('default' in schema) ? { required: true } : {}),
      description: typeof description === 'string' ? description : '',
      schema,
    };
  });
}

function numberOf(schema: TSchema, key: string): number | undefined {
  const value: unknown = Reflect.get(schema, key);
  return typeof value === 'number' ? value : undefined;
}

function stringOf(schema: TSchema, key: string): string | undefined {
  const value: unknown = Reflect.get(schema, key);
  return typeof value === 'string' ? value : undefined;
}

/** The decoder for one property, or an Error naming what the schema lacks (a bug in the route). */
function decoderOf(name: string, schema: TSchema): QueryDecoder<unknown> {
  const custom: unknown = Reflect.get(schema, DECODER);
  if (typeof custom === 'function') return (param, text, context) => custom(param, text, context);
  const type: unknown = Reflect.get(schema, 'type');
  const choices: unknown = Reflect.get(schema, 'enum');
  if (type === 'integer') {
    const min = numberOf(schema, 'minimum');
    const max = numberOf(schema, 'maximum');
    if (min === undefined || max === undefined) throw new Error(`query parameter ${name}: needs minimum and maximum`);
    return (param, text) => parseInteger(param, text, min, max);
  }
  if (type === 'boolean') return parseBoolean;
  if (type === 'string' && Array.isArray(choices)) {
    const values = choices.map(String);
    return (param, text) => {
      if (!values.includes(text)) throw invalid(param, `must be one of ${values.join(', ')}`);
      return text;
    };
  }
  if (type === 'string') {
    const maxLength = numberOf(schema, 'maxLength');
    const pattern = stringOf(schema, 'pattern');
    const patternProblem = stringOf(schema, 'errorMessage') ?? `must match ${pattern ?? ''}`;
    const regex = pattern === undefined ? undefined : new RegExp(pattern, 'u');
    return (param, text) => {
      bounded(param, text);
      if (maxLength !== undefined && text.length > maxLength)
        throw invalid(param, `must be at most ${maxLength} characters`);
      if (regex !== undefined && !regex.test(text)) throw invalid(param, patternProblem);
      return text;
    };
  }
  throw new Error(`query parameter ${name}: not an integer, boolean, string, enum or parsedParam schema`);
}

interface CompiledParam {
  readonly name: string;
  readonly decode: QueryDecoder<unknown>;
  /** The default as query text, decoded like a given value. */
  readonly fallback: string | undefined;
  readonly required: boolean;
}

function compile(schema: TObject): CompiledParam[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, property]) => {
    if (stringOf(property, 'description') === undefined)
      throw new Error(`query parameter ${name}: needs a description`);
    const fallback: unknown = Reflect.get(property, 'default');
    return {
      name,
      decode: decoderOf(name, property),
      fallback: fallback === undefined ? undefined : String(fallback),
      required: required.has(name) && fallback === undefined,
    };
  });
}

/** Whether `value` holds only the schema's properties and all of its required ones. */
function isDecoded<S extends TObject>(
  params: readonly CompiledParam[],
  value: Record<string, unknown>,
): value is Static<S> & Record<string, unknown> {
  const names = params.map((p) => p.name);
  return Object.keys(value).every((k) => names.includes(k)) && params.every((p) => !p.required || p.name in value);
}

export type QueryReader<S extends TObject> = (query: URLSearchParams, context: QueryContext) => Static<S>;

/**
 * The reader for `schema`: checks the schema once (throws for a property it cannot read), then
 * reads a query string into Static<schema>, each value through its own property's decoder.
 */
export function createQueryReader<S extends TObject>(schema: S): QueryReader<S> {
  const params = compile(schema);
  const names = params.map((p) => p.name);
  return (query, context) => {
    checkParamNames(query, names);
    const decoded: Record<string, unknown> = {};
    for (const param of params) {
      const text = single(query, param.name) ?? param.fallback;
      if (text !== undefined) decoded[param.name] = param.decode(param.name, text, context);
      else if (param.required) throw invalid(param.name, 'is required');
    }
    // Each value came from its own property's decoder, so the object has the schema's static type.
    if (!isDecoded<S>(params, decoded)) throw new Error('query reader built an object outside its schema');
    return decoded;
  };
}
