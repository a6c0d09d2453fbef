/**
 * Validators compiled from the input schemas (config file, admin API bodies, list definitions) with
 * ajv, and the one translation of ajv's errors into poolsink's wording: the exact key at fault in
 * the input's own notation (`blocklists[2].source`, `body.refreshSec`) and a short problem.
 *
 * A schema may carry `errorMessage`, a string or a `{ keyword: message }` map, for rules whose
 * generic wording would not help (a pattern, a length). Validators compile on first use, never at
 * import time.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema, Static } from '@sinclair/typebox';

/** How one input names its root and its unknown keys. */
export interface InputWording {
  /** The name of the whole input: `(root)`, `body`. */
  readonly root: string;
  /** Whether the root name prefixes every path (`body.name`) or only problems at the root (`(root).extra`). */
  readonly prefixPaths: boolean;
  unknownKey(known: readonly string[]): string;
}

export interface ValidationProblem {
  /** The key at fault, in the input's notation. */
  readonly path: string;
  readonly problem: string;
}

export type Validated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ValidationProblem };

export type Validator<T> = (input: unknown) => Validated<T>;

const MAX_SHOWN_KEY = 64;

/** One ajv per mode, made on first use: filling defaults, and leaving absent fields absent. */
const instances = new Map<boolean, Ajv>();

function ajv(fillDefaults: boolean): Ajv {
  let instance = instances.get(fillDefaults);
  if (instance === undefined) {
    // useDefaults fills each absent property from the `default` beside it before `required` is checked.
    instance = new Ajv({ useDefaults: fillDefaults, verbose: true, strict: true, allErrors: false });
    instance.addKeyword('errorMessage');
    instance.addKeyword('secret'); // marks values GET /api/v1/config masks (secrets.ts)
    instances.set(fillDefaults, instance);
  }
  return instance;
}

/**
 * A validator for `schema`. Unless `fillDefaults` is false it fills defaults into the value it is
 * given, so callers pass a copy when the input must stay as it was. (API bodies leave absent fields
 * absent: a patch changes only what it names; the list manager applies the same schema's defaults.)
 */
export function createValidator<S extends TSchema>(
  schema: S,
  wording: InputWording,
  options: { readonly fillDefaults?: boolean } = {},
): Validator<Static<S>> {
  let compiled: ValidateFunction<Static<S>> | undefined;
  return (input) => {
    compiled ??= ajv(options.fillDefaults ?? true).compile<Static<S>>(schema);
    if (compiled(input)) return { ok: true, value: input };
    const first = compiled.errors?.[0];
    return {
      ok: false,
      error: first === undefined ? { path: wording.root, problem: 'is invalid' } : describe(first, input, wording),
    };
  };
}

function shownKey(key: string): string {
  return key.length > MAX_SHOWN_KEY ? `${key.slice(0, MAX_SHOWN_KEY)}...` : key;
}

/** `/blocklists/2/source` → `blocklists[2].source`: array positions in brackets, keys after dots. */
function renderPath(pointer: string, input: unknown, wording: InputWording, extraKey?: string): string {
  const keys =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (extraKey !== undefined) keys.push(extraKey);
  let text = '';
  let node: unknown = input;
  for (const key of keys) {
    if (Array.isArray(node)) text += `[${key}]`;
    else text += text === '' ? shownKey(key) : `.${shownKey(key)}`;
    node = typeof node === 'object' && node !== null ? Reflect.get(node, key) : undefined;
  }
  if (text === '') return wording.root;
  const atRoot = keys.length === 1 && extraKey !== undefined;
  if (wording.prefixPaths || atRoot) return text.startsWith('[') ? `${wording.root}${text}` : `${wording.root}.${text}`;
  return text;
}

function customMessage(error: ErrorObject): string | undefined {
  const parent: unknown = error.parentSchema;
  if (typeof parent !== 'object' || parent === null) return undefined;
  const message: unknown = Reflect.get(parent, 'errorMessage');
  if (typeof message === 'string') return message;
  if (typeof message !== 'object' || message === null) return undefined;
  const forKeyword: unknown = Reflect.get(message, error.keyword);
  return typeof forKeyword === 'string' ? forKeyword : undefined;
}

function numberBound(schema: unknown, key: 'minimum' | 'maximum'): unknown {
  return typeof schema === 'object' && schema !== null ? Reflect.get(schema, key) : undefined;
}

const TYPE_PROBLEMS: Readonly<Record<string, string>> = {
  object: 'must be a mapping',
  array: 'must be a list',
  string: 'must be a string',
  boolean: 'must be true or false',
  number: 'must be a number',
};

function problemOf(error: ErrorObject, wording: InputWording): string {
  const custom = customMessage(error);
  if (custom !== undefined) return custom;
  const parent: unknown = error.parentSchema;
  const isInteger = typeof parent === 'object' && parent !== null && Reflect.get(parent, 'type') === 'integer';
  if (isInteger) {
    const min = numberBound(parent, 'minimum');
    const max = numberBound(parent, 'maximum');
    if (min !== undefined && max !== undefined) return `must be an integer from ${String(min)} to ${String(max)}`;
    return 'must be an integer';
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const properties: unknown =
        typeof parent === 'object' && parent !== null ? Reflect.get(parent, 'properties') : undefined;
      return wording.unknownKey(typeof properties === 'object' && properties !== null ? Object.keys(properties) : []);
    }
    case 'required':
      return 'is required';
    case 'enum': {
      const choices: unknown = error.schema;
      const list = Array.isArray(choices) ? choices.map(String).join(', ') : '';
      return `must be one of ${list} (got ${JSON.stringify(error.data) ?? 'nothing'})`;
    }
    case 'type':
      if (wording.root === 'body' && error.instancePath === '' && error.params['type'] === 'object')
        return 'must be a JSON object';
      return TYPE_PROBLEMS[String(error.params['type'])] ?? `must be of type ${String(error.params['type'])}`;
    default:
      return error.message ?? 'is invalid';
  }
}

function describe(error: ErrorObject, input: unknown, wording: InputWording): ValidationProblem {
  const params: Record<string, unknown> = error.params;
  const extraKey =
    error.keyword === 'additionalProperties'
      ? String(params['additionalProperty'])
      : error.keyword === 'required'
        ? String(params['missingProperty'])
        : undefined;
  return { path: renderPath(error.instancePath, input, wording, extraKey), problem: problemOf(error, wording) };
}

/** Object properties set to null (a YAML key with no value) are absent, as if not written. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child !== null && child !== undefined) out[key] = withoutNulls(child);
  }
  return out;
}

/** Freezes `value` and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
