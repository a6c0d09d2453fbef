/**
 * Validation of JSON request bodies: a plain object, only known fields, each of the right type and
 * range. Failures are InvalidParameterErrors naming the field as `body.<field>`. The list manager
 * checks definitions again; this layer is what lets a 400 name the field.
 */
import type { ListDefinition, ListPatch } from '../blocklist/list-api.js';
import { LIST_FORMATS, LIST_MODES } from '../config/types.js';
import { InvalidParameterError } from './http-errors.js';
import { parseDomain, parseListName } from './params.js';

// The configuration file's rules (the list manager checks them again).
export const MAX_SOURCE_LENGTH = 2048;
export const MIN_REFRESH_SEC = 60;
export const MAX_REFRESH_SEC = 30 * 86_400;

type Writable<T> = { -readonly [K in keyof T]: T[K] };
type Fields = ReadonlyMap<string, unknown>;

function invalid(field: string, problem: string): InvalidParameterError {
  return new InvalidParameterError(field === '' ? 'body' : `body.${field}`, problem);
}

/** The body's fields; anything but a plain object, or a field outside `allowed`, is refused. */
export function objectFields(body: unknown, allowed: readonly string[]): Fields {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('', 'must be a JSON object');
  const fields = new Map<string, unknown>(Object.entries(body));
  for (const key of fields.keys()) {
    if (!allowed.includes(key)) throw invalid(key.length > 64 ? `${key.slice(0, 64)}...` : key, `unknown field (accepted: ${allowed.join(', ')})`);
  }
  return fields;
}

function stringField(fields: Fields, key: string): string | undefined {
  const value = fields.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(key, 'must be a string');
  return value;
}

function requiredString(fields: Fields, key: string): string {
  const value = stringField(fields, key);
  if (value === undefined) throw invalid(key, 'is required');
  return value;
}

function integerField(fields: Fields, key: string, min: number, max: number): number | undefined {
  const value = fields.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(key, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function enumField<T extends string>(fields: Fields, key: string, values: readonly T[]): T | undefined {
  const value = fields.get(key);
  if (value === undefined) return undefined;
  const found = values.find((v) => v === value);
  if (found === undefined) throw invalid(key, `must be one of ${values.join(', ')}`);
  return found;
}

function source(text: string): string {
  // Sources are paths or URLs: never multi-line, never control characters.
  if (text.length === 0 || text.length > MAX_SOURCE_LENGTH || /[\x00-\x1f\x7f]/.test(text)) {
    throw invalid('source', `must be a file path or http(s) URL of 1 to ${MAX_SOURCE_LENGTH} characters`);
  }
  return text;
}

/** The settable fields shared by a new list and a patch. */
function listSettings(fields: Fields): Writable<ListPatch> {
  const settings: Writable<ListPatch> = {};
  const src = stringField(fields, 'source');
  if (src !== undefined) settings.source = source(src);
  const format = enumField(fields, 'format', LIST_FORMATS);
  if (format !== undefined) settings.format = format;
  const mode = enumField(fields, 'mode', LIST_MODES);
  if (mode !== undefined) settings.mode = mode;
  const refreshSec = integerField(fields, 'refreshSec', MIN_REFRESH_SEC, MAX_REFRESH_SEC);
  if (refreshSec !== undefined) settings.refreshSec = refreshSec;
  const maxShrinkPercent = integerField(fields, 'maxShrinkPercent', 0, 100);
  if (maxShrinkPercent !== undefined) settings.maxShrinkPercent = maxShrinkPercent;
  return settings;
}

const SETTING_FIELDS = ['source', 'format', 'mode', 'refreshSec', 'maxShrinkPercent'];

export function parseListDefinition(body: unknown): ListDefinition {
  const fields = objectFields(body, ['name', ...SETTING_FIELDS]);
  const name = parseListName('body.name', requiredString(fields, 'name'));
  const settings = listSettings(fields);
  if (settings.source === undefined) throw invalid('source', 'is required');
  return { ...settings, name, source: settings.source };
}

export function parseListPatch(body: unknown): ListPatch {
  const fields = objectFields(body, SETTING_FIELDS);
  if (fields.size === 0) throw invalid('', `must set at least one of ${SETTING_FIELDS.join(', ')}`);
  return listSettings(fields);
}

/** `{"domain": "pool.example"}` → the normalized name. */
export function parseAllowlistBody(body: unknown): string {
  const fields = objectFields(body, ['domain']);
  return parseDomain('body.domain', requiredString(fields, 'domain'));
}
