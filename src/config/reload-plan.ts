/**
 * What a configuration reload may change while poolsink runs, and what needs a restart: the diff of
 * two loaded configurations by key path ("dns.listen", "block.response"), classified by one table.
 * Pure: src/reload.ts loads the file and applies the plan.
 *
 * Live keys are compared with the configuration last applied; the others with the one poolsink
 * started with, so a listener change stays "restart needed" on every reload until the restart.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ErrorCode } from '../errors.js';
import type { Config } from './types.js';

/** What a reload did: POST /api/v1/reload answers with it; SIGHUP logs it. */
export type ReloadResult =
  | {
      readonly ok: true;
      /** Keys whose new values are in use. */
      readonly applied: readonly string[];
      /** Keys that differ from the running configuration and take effect only after a restart. */
      readonly restartNeeded: readonly string[];
    }
  | { readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string } };

/** Keys applied live (a key, or every key under it). Everything else needs a restart. */
export const LIVE_KEYS = [
  'blocklists',
  'allowlist',
  'dns.allowClients',
  'dns.allowOpenResolver',
  'dns.rateLimit',
  'upstreams',
  'upstreamTimeoutMs',
  'block',
  'log.level',
  'admin.token',
  'admin.tokenFile',
  'hosts.inventory',
] as const;

/** Objects compared whole: their parts are not separate settings. */
const LEAF_KEYS = new Set(['admin.listen']);

export interface ReloadPlan {
  /** Live keys that differ from the configuration last applied. */
  readonly live: readonly string[];
  /** Keys that differ from the configuration poolsink started with and cannot change without a restart. */
  readonly restartNeeded: readonly string[];
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Paths of the values that differ, down to the settings themselves (arrays compared whole). */
export function changedKeys(before: unknown, after: unknown, prefix = ''): string[] {
  if (isPlainObject(before) && isPlainObject(after) && !LEAF_KEYS.has(prefix)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) => changedKeys(before[key], after[key], prefix === '' ? key : `${prefix}.${key}`));
  }
  return isDeepStrictEqual(before, after) ? [] : [prefix];
}

export function isLiveKey(key: string): boolean {
  return LIVE_KEYS.some((live) => key === live || key.startsWith(`${live}.`));
}

/**
 * The plan for moving from `applied` (started as `started`) to `next`. Rate limiting can be
 * changed and turned off live, but not turned on when poolsink started without it (the listeners
 * were started without a gate).
 */
export function planReload(started: Config, applied: Config, next: Config): ReloadPlan {
  const rateLimitStartsNow = started.dns.rateLimit.qps === 0 && next.dns.rateLimit.qps > 0;
  const isLive = (key: string): boolean => isLiveKey(key) && !(rateLimitStartsNow && key.startsWith('dns.rateLimit'));
  return {
    live: changedKeys(applied, next).filter(isLive),
    restartNeeded: changedKeys(started, next).filter((key) => !isLive(key)),
  };
}
