/**
 * Checks what the admin API hands the list manager (list definitions, patches, allowlist names)
 * and fills in defaults. Values arrive from JSON, so each is checked for its type as well as its
 * range, and every problem is ERR_INVALID naming the field. The rules are the configuration
 * file's (src/config/load.ts), so a list means the same wherever it was defined.
 */
import { PoolsinkError } from '../errors.js';
import { LIST_FORMATS, LIST_MODES, type BlocklistConfig } from '../config/types.js';
import { normalizeDomain } from '../net/domain-name.js';
import type { ListDefinition, ListPatch } from './list-api.js';

/** A list as the manager keeps it: every field set and checked. The config's own type. */
export type ListSpec = BlocklistConfig;

export const DEFAULT_REFRESH_SEC = 86_400;
export const DEFAULT_MAX_SHRINK_PERCENT = 50;
export const MIN_REFRESH_SEC = 60;
export const MAX_REFRESH_SEC = 30 * 86_400;
const MAX_SOURCE_LENGTH = 2048;
const LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

function invalid(field: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_INVALID', `${field}: ${problem}`);
}

function checkName(value: unknown): string {
  if (typeof value !== 'string' || !LIST_NAME.test(value)) throw invalid('name', 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  return value;
}

function checkSource(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid('source', 'must be an http(s) URL or a file path');
  if (value.length > MAX_SOURCE_LENGTH) throw invalid('source', `must be at most ${MAX_SOURCE_LENGTH} characters`);
  if (value.includes('\0')) throw invalid('source', 'must not contain NUL');
  if (URL_SCHEME.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalid('source', `${JSON.stringify(value)} is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('source', 'only http and https URLs can be fetched');
  }
  return value;
}

function checkChoice<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  const found = choices.find((c) => c === value);
  if (found === undefined) throw invalid(field, `must be one of ${choices.join(', ')}`);
  return found;
}

function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** A full, checked spec from an API definition. Throws ERR_INVALID. */
export function specFromDefinition(definition: ListDefinition): ListSpec {
  return Object.freeze({
    name: checkName(definition.name),
    source: checkSource(definition.source),
    format: definition.format === undefined ? 'auto' : checkChoice(definition.format, 'format', LIST_FORMATS),
    mode: definition.mode === undefined ? 'block' : checkChoice(definition.mode, 'mode', LIST_MODES),
    refreshSec:
      definition.refreshSec === undefined
        ? DEFAULT_REFRESH_SEC
        : checkInteger(definition.refreshSec, 'refreshSec', MIN_REFRESH_SEC, MAX_REFRESH_SEC),
    maxShrinkPercent:
      definition.maxShrinkPercent === undefined
        ? DEFAULT_MAX_SHRINK_PERCENT
        : checkInteger(definition.maxShrinkPercent, 'maxShrinkPercent', 0, 100),
  });
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
  });
}

/**
 * An allowlist entry as stored: lower case, no trailing dot, `*.` dropped (an entry already covers
 * its subdomains), as the configuration file's allowlist. Throws ERR_INVALID.
 */
export function allowlistName(input: unknown): string {
  if (typeof input !== 'string') throw invalid('domain', 'must be a domain name');
  const name = normalizeDomain(input.startsWith('*.') ? input.slice(2) : input);
  if (name === undefined) throw invalid('domain', `${JSON.stringify(input)} is not a domain name (at least two labels)`);
  return name;
}
