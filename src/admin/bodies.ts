/**
 * The JSON request bodies, each defined once as a schema: the source of its TypeScript type, its
 * validator and its OpenAPI component (openapi.ts embeds these schemas as they are). A body must
 * be a plain object with only known fields; failures are InvalidParameterErrors naming the field
 * as `body.<field>`. The list settings are the list definition schema's (src/config/list-schema.ts).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ListDefinition, ListPatch } from '../blocklist/list-api.js';
import { ListNameSchema, listSettings, sourceProblem } from '../config/list-schema.js';
import { createValidator, type Validator } from '../config/validate.js';
import { InvalidParameterError } from './http-errors.js';
import { parseDomain } from './params.js';
import { IncidentNoteBody } from '../incidents/incident-api-schemas.js';

const SETTING_FIELDS = Object.keys(listSettings);

export const ListDefinitionBody = Type.Object(
  {
    name: ListNameSchema,
    source: listSettings.source,
    format: Type.Optional(listSettings.format),
    mode: Type.Optional(listSettings.mode),
    refreshSec: Type.Optional(listSettings.refreshSec),
    maxShrinkPercent: Type.Optional(listSettings.maxShrinkPercent),
  },
  { additionalProperties: false },
);

export const ListPatchBody = Type.Partial(Type.Object(listSettings), {
  additionalProperties: false,
  minProperties: 1,
  errorMessage: { minProperties: `must set at least one of ${SETTING_FIELDS.join(', ')}` },
});

export const AllowlistBody = Type.Object(
  { domain: Type.String({ description: 'Allows this name and its subdomains', examples: ['pool.example'] }) },
  { additionalProperties: false },
);

/** The body schemas by their OpenAPI component name. */
export const BODY_SCHEMAS = { ListDefinition: ListDefinitionBody, ListPatch: ListPatchBody, AllowlistBody } as const;

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

/** `{"note": "..."}` of an incident acknowledge or resolve → the note. */
export function parseIncidentNote(body: unknown): string {
  return parsed(incidentNote, body).note;
}
