/**
 * A blocklist definition and an allowlist entry, defined once: the configuration file's
 * `blocklists[]` and `allowlist[]`, the admin API's list bodies, and the list manager (lists saved
 * in the database) all use these schemas and rules, so a list means the same wherever it was defined.
 */
import { Type, type Static } from '@sinclair/typebox';
import { normalizeDomain } from '../net/domain-name.js';
import { stringEnum } from './schema-types.js';
import { SEVERITIES } from '../incidents/incident-state.js';

export const LIST_FORMATS = ['auto', 'hosts', 'domains', 'adblock', 'ip'] as const;
export const LIST_MODES = ['block', 'alert'] as const;

/** No path separators, no leading dot: a list name is also a file name in the source cache. */
export const LIST_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const LIST_NAME = new RegExp(LIST_NAME_PATTERN);
export const LIST_NAME_PROBLEM = 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit';

export const MAX_SOURCE_LENGTH = 2048;
export const MIN_REFRESH_SEC = 60;
export const MAX_REFRESH_SEC = 30 * 86_400;

const SOURCE_PROBLEM = `must be an http(s) URL or a file path of 1 to ${MAX_SOURCE_LENGTH} characters, without control characters`;
/**
 * Not blank, no control character (a source is never multi-line), and a `scheme://` prefix only if
 * it is http or https: the fetcher reads every other source as a file path (blocklist/load.ts).
 */
const SOURCE_PATTERN =
  '^(?=.*\\S)(?:[Hh][Tt][Tt][Pp][Ss]?://|(?![A-Za-z][A-Za-z0-9+.-]*://))[^\\u0000-\\u001f\\u007f]+$';

export const ListNameSchema = Type.String({ pattern: LIST_NAME_PATTERN, errorMessage: LIST_NAME_PROBLEM });

export const ListSourceSchema = Type.String({
  description: 'A file path (relative to the configuration file) or an http(s) URL',
  minLength: 1,
  maxLength: MAX_SOURCE_LENGTH,
  pattern: SOURCE_PATTERN,
  errorMessage: SOURCE_PROBLEM,
});

/** The settings of a list besides its name, each with its default. */
export const listSettings = {
  source: ListSourceSchema,
  format: stringEnum(LIST_FORMATS, { default: 'auto' }),
  mode: stringEnum(LIST_MODES, { default: 'block' }),
  refreshSec: Type.Integer({
    minimum: MIN_REFRESH_SEC,
    maximum: MAX_REFRESH_SEC,
    default: 86_400,
    description: 'Seconds between refreshes of a URL source (jittered); file sources reload when changed',
  }),
  maxShrinkPercent: Type.Integer({
    minimum: 0,
    maximum: 100,
    default: 50,
    description: 'An update losing more than this share of entries is rejected unless forced',
  }),
};

/** The learner (pool-ips/learner.ts) resolves the list's names: configuration and runtime lists alike. */
export const ResolveForIpsSchema = Type.Boolean({
  description:
    "Resolve this list's names periodically and learn their addresses as pool IPs (default true for the list named mining-pools)",
});

/**
 * A list as the manager keeps it, every field set: the configuration file's `blocklists[]` item.
 * Validating a definition against it fills the defaults.
 */
export const ListSpecSchema = Type.Object(
  {
    name: ListNameSchema,
    ...listSettings,
    /** Configuration lists only (runtime lists take the default by mode): the severity of incidents it causes. */
    severity: Type.Optional(
      stringEnum(SEVERITIES, { description: 'Incident severity of its matches; default high (block), medium (alert)' }),
    ),
    /** The learner resolves its names for pool IPs (default: the bundled mining-pools list only). */
    resolveForIps: Type.Optional(ResolveForIpsSchema),
    /** Configuration lists only: a file source that cannot be read at start is then a warning, not an error. */
    optional: Type.Optional(
      Type.Boolean({ description: 'A file list that cannot be read at start is skipped instead of stopping poolsink' }),
    ),
  },
  { additionalProperties: false },
);
export type ListSpec = Readonly<Static<typeof ListSpecSchema>>;

/**
 * What the problem with a source is, beyond its schema (which has already passed): an http(s)
 * URL must also parse as one. Undefined when the source is fine.
 */
export function sourceProblem(source: string): string | undefined {
  if (!/^https?:\/\//i.test(source)) return undefined;
  try {
    new URL(source);
    return undefined;
  } catch {
    return `${JSON.stringify(source)} is not a valid URL`;
  }
}

/**
 * An allowlist entry as stored: lower case, no trailing dot, `*.` dropped (an entry already covers
 * its subdomains). Undefined when it is not a domain name of at least two labels.
 */
export function allowlistEntryName(text: string): string | undefined {
  return normalizeDomain(text.startsWith('*.') ? text.slice(2) : text);
}
