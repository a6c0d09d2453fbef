/**
 * Configuration reload (SIGHUP, POST /api/v1/reload) and admin token rotation: reads the file again
 * with the start's validation, plans (config/reload-plan.ts) and applies the live keys to the
 * running parts; a bad file changes nothing and is logged. Reloads and rotations run one at a time.
 * Notification sinks (notify[], in the writer thread) and hosts.reverseDns are restart-only for
 * now, reported as such like the listeners.
 */
import type { Logger } from 'pino';
import { adminTokenSource, resolveAdminToken, writeNewTokenFile, type RotatedToken } from './admin/auth.js';
import type { ConfigListsChange } from './blocklist/config-lists.js';
import type { ListSpec } from './blocklist/definition.js';
import { planReload, type ReloadResult } from './config/reload-plan.js';
import type { Config } from './config/types.js';
import type { ClientAcl } from './dns/acl.js';
import { createRateLimiter, type RateLimitGate } from './dns/rate-limit.js';
import { PoolsinkError, errorMessage, isPoolsinkError, type ErrorCode } from './errors.js';
import { ipToBytes } from './net/address.js';
import type { UpstreamPool } from './upstream/pool.js';
import { createBlockAnswerTemplate, type BlockAnswerTemplate } from './wire/block-answer.js';

export type { ReloadResult, RotatedToken };

/** The running parts a reload changes. */
export interface ReloadTargets {
  readonly log: Logger;
  readonly acl: ClientAcl;
  readonly resolver: { setBlockTemplate(template: BlockAnswerTemplate): void };
  readonly upstream: Pick<UpstreamPool, 'reconfigure'>;
  readonly lists: {
    applyConfig(lists: readonly ListSpec[], allowlist: readonly string[]): Promise<ConfigListsChange>;
  };
  readonly hostIdentity: { replaceInventory(inventory: Config['hosts']['inventory']): Promise<void> };
  /** Absent when poolsink started without rate limiting. */
  readonly rateLimit: RateLimitGate | undefined;
  /** Absent in a resolver worker (dns.workers): the token is the primary's, neither read nor reported there. */
  readonly admin?: { setToken(token: string): void };
  /** dns.workers > 1: hands the applied configuration to the resolver processes; resolves once each applied it. */
  readonly workers?: { apply(config: Config): Promise<void> };
}

export interface ReloaderOptions {
  /** Reads and validates the configuration file as at start (loadConfig). Throws PoolsinkError. */
  readonly load: () => Config;
  readonly started: Config;
  readonly token: string;
  readonly targets: ReloadTargets;
  /**
   * 'worker': a resolver worker applying the primary's reload. It reports (at debug) only the keys
   * it applies itself (WORKER_KEYS); the primary logs the reload and any restart needed, once.
   */
  readonly scope?: 'primary' | 'worker';
}

/** The live keys a resolver worker applies (its ACL, upstreams, block answer, rate limit, log level). */
const WORKER_KEYS = ['dns.allowClients', 'upstreams', 'upstreamTimeoutMs', 'block', 'dns.rateLimit', 'log.level'];

function keyUnder(key: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => key === prefix || key.startsWith(`${prefix}.`));
}

export interface Reloader {
  reload(): Promise<ReloadResult>;
  /** A new token into the token file, in use at once. ERR_CONFLICT when admin.token is set inline. */
  rotateToken(): Promise<RotatedToken>;
  /** The configuration last applied (restart-only keys as in the file: see ReloadResult). */
  readonly config: Config;
  readonly token: string;
}

export function blockTemplateOf(block: Config['block']): BlockAnswerTemplate {
  const bytes = (address: string): Buffer => {
    const value = ipToBytes(address);
    if (value === undefined) throw new PoolsinkError('ERR_CONFIG_INVALID', `not an IP address: ${address}`);
    return value;
  };
  return createBlockAnswerTemplate({
    kind: block.response,
    ttlSec: block.ttlSec,
    sinkholeIpv4: bytes(block.sinkholeIpv4),
    sinkholeIpv6: bytes(block.sinkholeIpv6),
  });
}

function tokenOptions(config: Config, dataDir: string): { token?: string; tokenFile?: string; dataDir: string } {
  const { token, tokenFile } = config.admin;
  return { ...(token !== undefined ? { token } : {}), ...(tokenFile !== undefined ? { tokenFile } : {}), dataDir };
}

export function createReloader(options: ReloaderOptions): Reloader {
  const { load, started, targets } = options;
  const { log } = targets;
  let applied = started;
  let token = options.token;
  let queue: Promise<unknown> = Promise.resolve();

  function serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work);
    queue = run.catch(() => undefined); // the next one runs whatever this one did
    return run;
  }

  const worker = options.scope === 'worker';

  function setToken(next: string): boolean {
    if (next === token || targets.admin === undefined) return false;
    token = next;
    targets.admin.setToken(next);
    return true;
  }

  async function apply(next: Config, nextToken: string | undefined): Promise<ReloadResult> {
    const plan = planReload(started, applied, next);
    const has = (prefix: string): boolean => plan.live.some((key) => keyUnder(key, [prefix]));
    const done = worker ? plan.live.filter((key) => keyUnder(key, WORKER_KEYS)) : [...plan.live];
    // The token file's content may change with the configuration unchanged: reported as admin.token.
    if (nextToken !== undefined && setToken(nextToken) && !has('admin.token') && !has('admin.tokenFile'))
      done.push('admin.token');
    if (has('dns.allowClients')) targets.acl.replace(next.dns.allowClients);
    if (has('upstreams') || has('upstreamTimeoutMs'))
      targets.upstream.reconfigure({ upstreams: next.upstreams, timeoutMs: next.upstreamTimeoutMs });
    if (has('block')) targets.resolver.setBlockTemplate(blockTemplateOf(next.block));
    if (has('dns.rateLimit') && targets.rateLimit !== undefined) {
      const { qps, burst, action } = next.dns.rateLimit;
      targets.rateLimit.reconfigure(qps > 0 ? { limiter: createRateLimiter({ qps, burst }), action } : undefined);
    }
    if (has('log.level')) log.level = next.log.level;
    applied = next;
    if (has('hosts.inventory')) await targets.hostIdentity.replaceInventory(next.hosts.inventory);
    if (has('blocklists') || has('allowlist')) {
      const change = await targets.lists.applyConfig(next.blocklists, next.allowlist);
      if (!worker) log.info(change, 'lists from the configuration file reloaded');
    }
    // Before the reload is reported done: the next query, on whichever worker, sees the new keys.
    await targets.workers?.apply(next);
    return { ok: true, applied: done, restartNeeded: plan.restartNeeded };
  }

  async function reload(): Promise<ReloadResult> {
    let next: Config;
    let nextToken: string | undefined;
    try {
      next = load();
      // A token file that cannot be read is a bad configuration too: nothing changes.
      if (targets.admin !== undefined) nextToken = resolveAdminToken({ ...tokenOptions(next, started.dataDir), log });
    } catch (err: unknown) {
      const code: ErrorCode = isPoolsinkError(err) ? err.code : 'ERR_CONFIG_INVALID';
      const message = errorMessage(err);
      log.error({ code, err: message }, 'configuration reload failed; the running configuration stays');
      return { ok: false, error: { code, message } };
    }
    const result = await apply(next, nextToken);
    if (result.ok && worker) log.debug({ applied: result.applied }, 'reloaded configuration applied in this worker');
    else if (result.ok) {
      log.info({ applied: result.applied }, 'configuration reloaded');
      if (result.restartNeeded.length > 0)
        log.warn({ restartNeeded: result.restartNeeded }, `restart needed for: ${result.restartNeeded.join(', ')}`);
    }
    return result;
  }

  async function rotateToken(): Promise<RotatedToken> {
    const source = adminTokenSource(tokenOptions(applied, started.dataDir));
    if (source.kind === 'inline') {
      throw new PoolsinkError(
        'ERR_CONFLICT',
        'admin.token is set in the configuration file: change it there and reload (SIGHUP or POST /api/v1/reload)',
      );
    }
    const next = writeNewTokenFile(source.path);
    setToken(next);
    log.info({ tokenFile: source.path }, 'admin token rotated; the previous token no longer works');
    return { token: next, tokenFile: source.path };
  }

  return {
    reload: () => serialized(reload),
    rotateToken: () => serialized(async () => rotateToken()),
    get config() {
      return applied;
    },
    get token() {
      return token;
    },
  };
}
