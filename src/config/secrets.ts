/**
 * The effective configuration as JSON with its secrets masked (GET /api/v1/config). Which values are
 * secret is said once, in the config schema: a property annotated `secret: true` (SECRET) is shown
 * as "***". The loaded Config is walked against ConfigFileSchema, so:
 *
 * - a key the schema does not describe (values load.ts derives, such as a sink's secret or CA text
 *   read from a file) is masked too, unless DERIVED_PLAIN_KEYS names it: a new secret that is not
 *   annotated is hidden, not leaked;
 * - credentials in any URL ("https://user:pass@host/...") are masked wherever they appear.
 *
 * File paths (`tokenFile`, `secretFile`, `caFile`) are shown; their contents never are.
 */
import { formatHostPort } from '../net/address.js';
import { ConfigFileSchema } from './schema.js';
import type { Config } from './types.js';

export const MASK = '***';

/** Keys of the loaded Config that the file schema does not have and that are not secret. */
const DERIVED_PLAIN_KEYS: ReadonlySet<string> = new Set(['baseDir', 'host', 'port', 'perMinute']);

export interface MaskedConfig {
  readonly config: Record<string, unknown>;
  /** Paths of masked values ("admin.token", "notify[0].headers.Authorization"). */
  readonly masked: readonly string[];
}

/** A JSON Schema node, read by key. */
type Schema = Readonly<Record<string, unknown>>;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Loaded values back to text: addresses as host:port, CIDRs as written. */
function toJson(value: unknown): Json {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string')
    return value;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (isRecord(value)) {
    const { host, port, text } = value;
    if (typeof text === 'string' && typeof value['network'] === 'bigint') return text;
    if (typeof host === 'string' && typeof port === 'number' && typeof value['family'] === 'number')
      return formatHostPort({ host, port });
    const out: { [key: string]: Json } = {};
    for (const [key, child] of Object.entries(value)) if (child !== undefined) out[key] = toJson(child);
    return out;
  }
  return null;
}

/** "scheme://user:pass@host/..." → "scheme://***@host/..." wherever it appears in the text. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]+@/gi, `$1${MASK}@`);
}

function isSecret(schema: Schema | undefined): boolean {
  if (schema === undefined) return false;
  if (schema['secret'] === true) return true;
  const variants: unknown = schema['anyOf'] ?? schema['oneOf'];
  return Array.isArray(variants) && variants.some((v: Schema) => v['secret'] === true);
}

function schemaOf(value: unknown): Schema | undefined {
  return isRecord(value) ? value : undefined;
}

/** The schema of `key` inside an object schema; undefined when the schema does not describe it. */
function propertySchema(schema: Schema, key: string): Schema | undefined {
  const properties = schemaOf(schema['properties']);
  if (properties !== undefined && Object.hasOwn(properties, key)) return schemaOf(properties[key]);
  const patterns = schemaOf(schema['patternProperties']);
  if (patterns !== undefined) {
    for (const [pattern, child] of Object.entries(patterns)) if (new RegExp(pattern).test(key)) return schemaOf(child);
  }
  return schemaOf(schema['additionalProperties']);
}

/** The object branch of a union (`Type.Union([Object, Null])`), or the schema itself. */
function objectSchema(schema: Schema): Schema {
  const variants: unknown = schema['anyOf'] ?? schema['oneOf'];
  if (!Array.isArray(variants)) return schema;
  return variants.find((v: Schema) => v['type'] === 'object') ?? schema;
}

function mask(value: Json, schema: Schema | undefined, path: string, masked: string[]): Json {
  if (isSecret(schema)) {
    if (isRecord(value)) {
      const out: { [key: string]: Json } = {};
      for (const key of Object.keys(value)) {
        out[key] = MASK;
        masked.push(`${path}.${key}`);
      }
      return out;
    }
    masked.push(path);
    return MASK;
  }
  if (typeof value === 'string') {
    const shown = maskUrlCredentials(value);
    if (shown !== value) masked.push(path);
    return shown;
  }
  if (Array.isArray(value)) {
    const items = schema === undefined ? undefined : schemaOf(schema['items']);
    return value.map((item, i) => mask(item, items, `${path}[${i}]`, masked));
  }
  if (value !== null && typeof value === 'object') {
    const objectSchemaOf = schema === undefined ? undefined : objectSchema(schema);
    const out: { [key: string]: Json } = {};
    for (const [key, child] of Object.entries(value)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      const childSchema = objectSchemaOf === undefined ? undefined : propertySchema(objectSchemaOf, key);
      if (childSchema === undefined && !DERIVED_PLAIN_KEYS.has(key)) {
        out[key] = MASK;
        masked.push(childPath);
      } else out[key] = mask(child, childSchema, childPath, masked);
    }
    return out;
  }
  return value;
}

/** `value` with every secret (per `schema`) and every URL credential replaced by MASK. */
export function maskSecrets(value: unknown, schema: Schema): MaskedConfig {
  const masked: string[] = [];
  const shown = mask(toJson(value), schema, '', masked);
  return { config: isRecord(shown) ? { ...shown } : {}, masked };
}

export function effectiveConfig(config: Config): MaskedConfig {
  return maskSecrets(config, ConfigFileSchema);
}
