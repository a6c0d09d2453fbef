/**
 * Loads the YAML configuration, applies POOLSINK_* environment overrides (env.ts), validates it
 * against the schema (schema.ts: unknown keys rejected, defaults filled, each problem named by its
 * path), checks what JSON Schema cannot (addresses, CIDRs, cross-field rules) and returns a deeply
 * frozen Config. This directory is the only reader of process.env.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PoolsinkError, errorMessage, isPoolsinkError } from '../errors.js';
import { parseCidr, parseHostPort, type Cidr, type HostPort } from '../net/address.js';
import { parseCidrText } from '../net/cidr-text.js';
import { allowEntryProblem } from '../blocklist/fetch-destination.js';
import { applyEnv, overriddenBy, type Environment } from './env.js';
import { allowlistEntryName, sourceProblem } from './list-schema.js';
import { ConfigFileSchema, type ConfigFile } from './schema.js';
import type { AdminConfig, Config } from './types.js';
import { notifySinksOf } from './notify-config.js';
import { centralOf, instanceNameOf } from './central-config.js';
import { honeypotOf } from './honeypot-config.js';
import { createValidator, deepFreeze, withoutNulls } from './validate.js';

export { ENV_OVERRIDES } from './env.js';
export { DEFAULT_ALLOW_CLIENTS } from './schema.js';

const DNS_PORT = 53;

export interface LoadConfigOptions {
  /** The YAML file; relative paths inside it resolve against its directory. */
  file: string;
  env?: Environment;
  /** Where default upstreams come from when the file names none. */
  resolvConfPath?: string;
}

function invalid(path: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_CONFIG_INVALID', `config ${path}: ${problem}`);
}

const validateFile = createValidator(ConfigFileSchema, {
  root: '(root)',
  prefixPaths: false,
  unknownKey: (known) => `unknown key (known: ${known.join(', ')})`,
});

function hostPorts(texts: readonly string[], path: string, defaultPort?: number): HostPort[] {
  return texts.map((text, i) => {
    const parsed = parseHostPort(text, defaultPort);
    if (parsed === undefined) {
      throw invalid(`${path}[${i}]`, `${JSON.stringify(text)} is not an address:port ("127.0.0.1:5353", "[::1]:5353")`);
    }
    return parsed;
  });
}

function ipLiteral(text: string, path: string, family: 4 | 6): string {
  const parsed = parseHostPort(text, 0);
  if (parsed === undefined || parsed.family !== family || text !== parsed.host) {
    throw invalid(path, `must be an IPv${family} address (got ${JSON.stringify(text)})`);
  }
  return parsed.host;
}

function cidrs(texts: readonly string[], path: string): Cidr[] {
  return texts.map((text, i) => {
    const cidr = parseCidr(text);
    if (cidr === undefined)
      throw invalid(`${path}[${i}]`, `${JSON.stringify(text)} is not a CIDR ("10.0.0.0/8", "fc00::/7")`);
    return cidr;
  });
}

/** A /0 CIDR admits the whole internet: an open resolver, refused unless asked for by name. */
function allowClientsOf(dns: ConfigFile['dns']): Cidr[] {
  const allowed = cidrs(dns.allowClients, 'dns.allowClients');
  const open = allowed.findIndex((cidr) => cidr.prefix === 0);
  if (open >= 0 && !dns.allowOpenResolver)
    throw invalid(
      `dns.allowClients[${open}]`,
      `${allowed[open]?.text} admits every address (an open resolver, abused for amplification); ` +
        'list your networks, or set dns.allowOpenResolver: true if you mean it',
    );
  return allowed;
}

export function readResolvConfNameservers(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return []; // no resolv.conf: the caller reports that no upstream is configured
  }
  const servers: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (match?.[1] !== undefined) servers.push(match[1]);
  }
  return servers;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** A wildcard listener also receives what is sent to loopback; other addresses may be other hosts (a VPC resolver). */
function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

function upstreamsOf(file: ConfigFile, listen: readonly HostPort[], resolvConfPath: string): HostPort[] {
  const fromFile = file.upstreams !== undefined;
  const texts = file.upstreams ?? readResolvConfNameservers(resolvConfPath);
  const upstreams = hostPorts(texts, 'upstreams', DNS_PORT);
  if (upstreams.length === 0) {
    throw invalid(
      'upstreams',
      `no upstream DNS server (none in ${fromFile ? 'upstreams' : `the nameservers of ${resolvConfPath}`})`,
    );
  }
  for (const [i, up] of upstreams.entries()) {
    if (listen.some((l) => l.port === up.port && (l.host === up.host || (isWildcard(l.host) && isLoopback(up.host))))) {
      throw invalid(`upstreams[${i}]`, `${up.host}:${up.port} is one of poolsink's own listeners (a forwarding loop)`);
    }
  }
  return upstreams;
}

/** The checks of `blocklists[]` beyond each item's schema: unique names, URLs that parse. */
function checkBlocklists(file: ConfigFile): void {
  const names = new Set<string>();
  for (const [i, list] of file.blocklists.entries()) {
    if (names.has(list.name))
      throw invalid(`blocklists[${i}].name`, `duplicate list name ${JSON.stringify(list.name)}`);
    names.add(list.name);
    const problem = sourceProblem(list.source);
    if (problem !== undefined) throw invalid(`blocklists[${i}].source`, problem);
  }
}

function allowlistOf(texts: readonly string[]): string[] {
  return texts.map((text, i) => {
    const name = allowlistEntryName(text);
    if (name === undefined) throw invalid(`allowlist[${i}]`, `${JSON.stringify(text)} is not a domain name`);
    return name;
  });
}

function adminOf(admin: ConfigFile['admin'], baseDir: string): AdminConfig {
  const listen = parseHostPort(admin.listen);
  if (listen === undefined) {
    throw invalid(
      'admin.listen',
      `${JSON.stringify(admin.listen)} is not an address:port ("127.0.0.1:8053", "[::1]:8053")`,
    );
  }
  if (admin.token !== undefined && admin.tokenFile !== undefined) {
    throw invalid('admin.tokenFile', 'set admin.token or admin.tokenFile, not both');
  }
  return {
    listen,
    ...(admin.token !== undefined ? { token: admin.token } : {}),
    ...(admin.tokenFile !== undefined ? { tokenFile: resolvePath(baseDir, admin.tokenFile) } : {}),
    metricsAuth: admin.metricsAuth,
    hostnames: admin.hostnames,
    maxConnectionsPerClient: admin.maxConnectionsPerClient,
  };
}

function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function listsOf(lists: ConfigFile['lists'], baseDir: string): Config['lists'] {
  lists.allowPrivateSources.forEach((entry, i) => {
    const problem = allowEntryProblem(entry);
    if (problem !== undefined) throw invalid(`lists.allowPrivateSources[${i}]`, problem);
  });
  const { fileSourceDir } = lists;
  return {
    allowPrivateSources: lists.allowPrivateSources,
    ...(fileSourceDir !== undefined ? { fileSourceDir: resolvePath(baseDir, fileSourceDir) } : {}),
  };
}

/** `poolIps` with each `exclude` entry checked as an address or CIDR. */
function poolIpsOf(poolIps: ConfigFile['poolIps']): ConfigFile['poolIps'] {
  for (const [i, text] of poolIps.exclude.entries()) {
    if (parseCidrText(text.trim()) === undefined)
      throw invalid(`poolIps.exclude[${i}]`, `${JSON.stringify(text)} is not an address or CIDR`);
  }
  return poolIps;
}

/** Validates an already-parsed document (env overrides applied) into a frozen Config. */
export function validateConfig(rawInput: unknown, baseDir: string, resolvConfPath = '/etc/resolv.conf'): Config {
  // A copy: validation fills in defaults. A key set to null (YAML `key:`) counts as absent.
  const result = validateFile(withoutNulls(rawInput ?? {}));
  if (!result.ok) throw invalid(result.error.path, result.error.problem);
  const file = result.value;
  const { dns, cache, block, database } = file;

  const listen = hostPorts(dns.listen, 'dns.listen');
  const upstreams = upstreamsOf(file, listen, resolvConfPath);
  if (cache.minTtlSec > cache.maxTtlSec) throw invalid('cache.minTtlSec', 'must not exceed cache.maxTtlSec');
  checkBlocklists(file);
  const dataDir = resolvePath(baseDir, file.dataDir);

  const config: Config = {
    baseDir,
    dns: {
      ...dns,
      listen,
      allowClients: allowClientsOf(dns),
      rateLimit: { ...dns.rateLimit, burst: dns.rateLimit.burst ?? Math.max(dns.rateLimit.qps * 2, 1) },
    },
    upstreams,
    upstreamTimeoutMs: file.upstreamTimeoutMs,
    block: {
      ...block,
      sinkholeIpv4: ipLiteral(block.sinkholeIpv4, 'block.sinkholeIpv4', 4),
      sinkholeIpv6: ipLiteral(block.sinkholeIpv6, 'block.sinkholeIpv6', 6),
    },
    blocklists: file.blocklists,
    allowlist: allowlistOf(file.allowlist),
    cache,
    log: file.log,
    dataDir,
    database: {
      ...database,
      path: database.path === undefined ? resolve(dataDir, 'poolsink.db') : resolvePath(baseDir, database.path),
    },
    admin: adminOf(file.admin, baseDir),
    incidents: file.incidents,
    history: file.history,
    notify: notifySinksOf(file.notify, baseDir),
    hosts: {
      inventory: file.hosts.inventory.map((entry) => ({ ...entry, source: resolvePath(baseDir, entry.source) })),
      reverseDns: file.hosts.reverseDns,
    },
    lists: listsOf(file.lists, baseDir),
    poolIps: poolIpsOf(file.poolIps),
    instance: { name: instanceNameOf(file.instance) },
    central: centralOf(file.central, baseDir),
    honeypot: honeypotOf(file.honeypot),
  };
  return deepFreeze(config);
}

/** Reads, overrides from the environment, validates and freezes. Throws PoolsinkError. */
export function loadConfig(options: LoadConfigOptions): Config {
  const file = resolve(options.file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err: unknown) {
    throw new PoolsinkError('ERR_CONFIG_READ', `cannot read config file ${file}: ${errorMessage(err)}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err: unknown) {
    throw new PoolsinkError('ERR_CONFIG_INVALID', `config file ${file} is not valid YAML: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('(root)', 'must be a mapping');
  const raw = { ...doc };
  const applied = applyEnv(raw, options.env ?? process.env);
  try {
    return validateConfig(raw, dirname(file), options.resolvConfPath);
  } catch (err: unknown) {
    throw namingEnvVariable(err, applied);
  }
}

/**
 * A problem with a key an environment variable set names the variable too: the file may not even
 * have the key. (`invalid` writes every message as `config PATH: problem`.)
 */
function namingEnvVariable(err: unknown, applied: readonly string[]): unknown {
  if (!isPoolsinkError(err, 'ERR_CONFIG_INVALID') || applied.length === 0) return err;
  const path = /^config (\S+): /.exec(err.message)?.[1];
  const variable = path === undefined ? undefined : overriddenBy(path, applied);
  if (variable === undefined) return err;
  const message = err.message.replace(`config ${path}:`, `config ${path} (environment variable ${variable}):`);
  return new PoolsinkError('ERR_CONFIG_INVALID', message, { cause: err });
}
