/**
 * POOLSINK_* environment overrides for container use: each variable sets one configuration key
 * before the file is validated, so a bad value is reported under the key it overrides.
 */
import { PoolsinkError } from '../errors.js';

/** Environment variable → config path and how to read it. */
export const ENV_OVERRIDES = {
  POOLSINK_LISTEN: { path: ['dns', 'listen'], kind: 'list' },
  POOLSINK_ALLOW_CLIENTS: { path: ['dns', 'allowClients'], kind: 'list' },
  POOLSINK_UPSTREAMS: { path: ['upstreams'], kind: 'list' },
  POOLSINK_UPSTREAM_TIMEOUT_MS: { path: ['upstreamTimeoutMs'], kind: 'number' },
  POOLSINK_BLOCK_RESPONSE: { path: ['block', 'response'], kind: 'string' },
  POOLSINK_SINKHOLE_IPV4: { path: ['block', 'sinkholeIpv4'], kind: 'string' },
  POOLSINK_SINKHOLE_IPV6: { path: ['block', 'sinkholeIpv6'], kind: 'string' },
  POOLSINK_ALLOWLIST: { path: ['allowlist'], kind: 'list' },
  POOLSINK_CACHE_MAX_ENTRIES: { path: ['cache', 'maxEntries'], kind: 'number' },
  POOLSINK_LOG_LEVEL: { path: ['log', 'level'], kind: 'string' },
  POOLSINK_DATA_DIR: { path: ['dataDir'], kind: 'string' },
  POOLSINK_DATABASE_PATH: { path: ['database', 'path'], kind: 'string' },
  POOLSINK_ADMIN_LISTEN: { path: ['admin', 'listen'], kind: 'string' },
  POOLSINK_ADMIN_TOKEN_FILE: { path: ['admin', 'tokenFile'], kind: 'string' },
  POOLSINK_RATE_LIMIT_QPS: { path: ['dns', 'rateLimit', 'qps'], kind: 'number' },
  POOLSINK_INSTANCE_NAME: { path: ['instance', 'name'], kind: 'string' },
  POOLSINK_CENTRAL_POSTGRES_URL_FILE: { path: ['central', 'postgres', 'urlFile'], kind: 'string' },
  POOLSINK_CENTRAL_POSTGRES_PASSWORD_FILE: { path: ['central', 'postgres', 'passwordFile'], kind: 'string' },
} as const satisfies Record<string, { path: readonly string[]; kind: 'list' | 'number' | 'string' }>;

export type Environment = Readonly<Record<string, string | undefined>>;

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Sets each overridden key in `raw` (the parsed file), creating sections as needed. Returns the
 * variables it applied, so a later problem with their keys can name them (overriddenBy).
 */
export function applyEnv(raw: Obj, env: Environment): string[] {
  const applied: string[] = [];
  for (const [name, rule] of Object.entries(ENV_OVERRIDES)) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    let value: unknown;
    if (rule.kind === 'list')
      value = text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    else if (rule.kind === 'number') {
      value = Number(text);
      if (!Number.isFinite(value)) {
        throw new PoolsinkError(
          'ERR_CONFIG_INVALID',
          `config ${rule.path.join('.')} (environment variable ${name}): must be a number (got ${JSON.stringify(text)})`,
        );
      }
    } else value = text;
    let target = raw;
    const path: readonly string[] = rule.path;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (!isObject(next)) target[key] = {};
      const child = target[key];
      if (isObject(child)) target = child;
    }
    const last = path[path.length - 1];
    if (last !== undefined) target[last] = value;
    applied.push(name);
  }
  return applied;
}

/**
 * The applied variable that set the key at `path` (`block.response`, `dns.listen[0]`), or one of
 * its parents; undefined when the file did.
 */
export function overriddenBy(path: string, applied: readonly string[]): string | undefined {
  for (const [name, rule] of Object.entries(ENV_OVERRIDES)) {
    if (!applied.includes(name)) continue;
    const key = rule.path.join('.');
    if (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)) return name;
  }
  return undefined;
}
