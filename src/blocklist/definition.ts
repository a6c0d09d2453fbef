/**
 * Checks what the admin API hands the list manager (list definitions, patches, allowlist names)
 * and what the database gives back, and fills in defaults. The rules are the list definition
 * schema's (src/config/list-schema.ts), the same the configuration file and the API bodies use,
 * so a list means the same wherever it was defined. Every problem is ERR_INVALID naming the field.
 */
import { PoolsinkError } from '../errors.js';
import { ListSpecSchema, allowlistEntryName, sourceProblem, type ListSpec } from '../config/list-schema.js';
import { createValidator, deepFreeze } from '../config/validate.js';
import type { ListDefinition, ListPatch } from './list-api.js';

export type { ListSpec };

function invalid(field: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_INVALID', `${field}: ${problem}`);
}

const validateSpec = createValidator(ListSpecSchema, {
  root: 'definition',
  prefixPaths: false,
  unknownKey: (known) => `unknown field (accepted: ${known.join(', ')})`,
});

/** A full, checked spec from an API definition or a saved row. Throws ERR_INVALID. */
export function specFromDefinition(definition: ListDefinition): ListSpec {
  // Only the definition's own fields (a saved row carries more), as a copy: validation fills defaults.
  const fields: Record<string, unknown> = {};
  for (const key of ['name', 'source', 'format', 'mode', 'refreshSec', 'maxShrinkPercent', 'resolveForIps'] as const) {
    if (definition[key] !== undefined) fields[key] = definition[key];
  }
  const result = validateSpec(fields);
  if (!result.ok) throw invalid(result.error.path, result.error.problem);
  const problem = sourceProblem(result.value.source);
  if (problem !== undefined) throw invalid('source', problem);
  return deepFreeze(result.value);
}

/** `spec` with the patch's fields applied and checked. Throws ERR_INVALID. */
export function applyPatch(spec: ListSpec, patch: ListPatch): ListSpec {
  return specFromDefinition({
    name: spec.name,
    source: patch.source ?? spec.source,
    format: patch.format ?? spec.format,
    mode: patch.mode ?? spec.mode,
    refreshSec: patch.refreshSec ?? spec.refreshSec,
    maxShrinkPercent: patch.maxShrinkPercent ?? spec.maxShrinkPercent,
    ...(patch.resolveForIps !== undefined || spec.resolveForIps !== undefined
      ? { resolveForIps: patch.resolveForIps ?? spec.resolveForIps }
      : {}),
  });
}

/** The name of the bundled list, whose names are resolved for pool IPs unless it says otherwise. */
export const BUNDLED_LIST_NAME = 'mining-pools';

/** Whether the learner (pool-ips/learner.ts) resolves this list's names: `resolveForIps`, default true for the bundled list only. */
export function resolvesForIps(spec: ListSpec): boolean {
  return spec.resolveForIps ?? spec.name === BUNDLED_LIST_NAME;
}

/**
 * An allowlist entry as stored: lower case, no trailing dot, `*.` dropped (an entry already covers
 * its subdomains), as the configuration file's allowlist. Throws ERR_INVALID.
 */
export function allowlistName(input: unknown): string {
  if (typeof input !== 'string') throw invalid('domain', 'must be a domain name');
  const name = allowlistEntryName(input);
  if (name === undefined)
    throw invalid('domain', `${JSON.stringify(input)} is not a domain name (at least two labels)`);
  return name;
}
