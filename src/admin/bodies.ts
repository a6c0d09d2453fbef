/**
 * The JSON request bodies, each defined once as a schema: the source of its TypeScript type, its
 * validator and its OpenAPI component (openapi.ts embeds these schemas as they are). A body must
 * be a plain object with only known fields; failures are InvalidParameterErrors naming the field
 * as `body.<field>`. The list settings are the list definition schema's (src/config/list-schema.ts).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ListDefinition, ListPatch } from '../blocklist/list-api.js';
import { ListNameSchema, ResolveForIpsSchema, listSettings, sourceProblem } from '../config/list-schema.js';
import { createValidator, type Validator } from '../config/validate.js';
import { InvalidParameterError } from './http-errors.js';
import { parseDomain, parseTime } from './params.js';
import { IncidentNoteBody } from '../incidents/incident-api-schemas.js';

/** What a PATCH may change: the list settings and resolveForIps. */
const patchSettings = { ...listSettings, resolveForIps: ResolveForIpsSchema };
const SETTING_FIELDS = Object.keys(patchSettings);

export const ListDefinitionBody = Type.Object(
  {
    name: ListNameSchema,
    source: listSettings.source,
    format: Type.Optional(listSettings.format),
    mode: Type.Optional(listSettings.mode),
    refreshSec: Type.Optional(listSettings.refreshSec),
    maxShrinkPercent: Type.Optional(listSettings.maxShrinkPercent),
    resolveForIps: Type.Optional(ResolveForIpsSchema),
  },
  { additionalProperties: false },
);

export const ListPatchBody = Type.Partial(Type.Object(patchSettings), {
  additionalProperties: false,
  minProperties: 1,
  errorMessage: { minProperties: `must set at least one of ${SETTING_FIELDS.join(', ')}` },
});

export const AllowlistBody = Type.Object(
  { domain: Type.String({ description: 'Allows this name and its subdomains', examples: ['pool.example'] }) },
  { additionalProperties: false },
);

/** Names one on-demand retro-hunt searches at most. */
export const MAX_HUNT_NAMES = 1000;

export const RetroHuntBody = Type.Object(
  {
    names: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
      minItems: 1,
      maxItems: MAX_HUNT_NAMES,
      description: 'Domain names; each matches itself and its subdomains',
      examples: [['pool.example']],
    }),
    since: Type.Optional(
      Type.String({ description: 'Only history since then: ISO-8601 time or a duration (24h, 3d); default all kept' }),
    ),
    record: Type.Optional(
      Type.Boolean({ description: 'Open (or join) a retro incident for each client found, and notify; default false' }),
    ),
  },
  { additionalProperties: false },
);

/** The body schemas by their OpenAPI component name. */
export const BODY_SCHEMAS = {
  ListDefinition: ListDefinitionBody,
  ListPatch: ListPatchBody,
  AllowlistBody,
  RetroHuntBody,
} as const;

function bodyValidator<S extends TSchema>(schema: S): Validator<Static<S>> {
  return createValidator(
    schema,
    { root: 'body', prefixPaths: true, unknownKey: (known) => `unknown field (accepted: ${known.join(', ')})` },
    { fillDefaults: false },
  );
}

const validators = {
  definition: bodyValidator(ListDefinitionBody),
  patch: bodyValidator(ListPatchBody),
  allowlist: bodyValidator(AllowlistBody),
};

function parsed<T>(validator: Validator<T>, body: unknown): T {
  const result = validator(body);
  if (!result.ok) throw new InvalidParameterError(result.error.path, result.error.problem);
  return result.value;
}

function checkSource(source: string | undefined): void {
  const problem = source === undefined ? undefined : sourceProblem(source);
  if (problem !== undefined) throw new InvalidParameterError('body.source', problem);
}

export function parseListDefinition(body: unknown): ListDefinition {
  const definition = parsed(validators.definition, body);
  checkSource(definition.source);
  return definition;
}

export function parseListPatch(body: unknown): ListPatch {
  const patch = parsed(validators.patch, body);
  checkSource(patch.source);
  return patch;
}

/** `{"domain": "pool.example"}` → the normalized name. */
export function parseAllowlistBody(body: unknown): string {
  return parseDomain('body.domain', parsed(validators.allowlist, body).domain);
}

const incidentNote = bodyValidator(IncidentNoteBody);
const retroHunt = bodyValidator(RetroHuntBody);

/** `{"names": [...], "since"?, "record"?}` → normalized, distinct names; since as ms. */
export function parseRetroHuntBody(
  body: unknown,
  nowMs: number,
): { names: string[]; sinceMs?: number; record: boolean } {
  const value = parsed(retroHunt, body);
  const names = [...new Set(value.names.map((name, i) => parseDomain(`body.names[${i}]`, name)))];
  return {
    names,
    record: value.record === true,
    ...(value.since !== undefined ? { sinceMs: parseTime('body.since', value.since, nowMs) } : {}),
  };
}

/** `{"note": "..."}` of an incident acknowledge or resolve → the note. */
export function parseIncidentNote(body: unknown): string {
  return parsed(incidentNote, body).note;
}
