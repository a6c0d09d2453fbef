/**
 * Loads the YAML configuration, applies POOLSINK_* environment overrides, validates every field
 * (unknown keys rejected, each problem named by its path) and returns a frozen Config.
 * This module is the only reader of process.env.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PoolsinkError, errorMessage } from '../errors.js';
import { parseCidr, parseHostPort, type Cidr, type HostPort } from '../net/address.js';
import { normalizeDomain } from '../net/domain-name.js';
import {
  BLOCK_RESPONSES,
  LIST_FORMATS,
  LIST_MODES,
  LOG_LEVELS,
  RATE_LIMIT_ACTIONS,
  type AdminConfig,
  type BlocklistConfig,
  type Config,
} from './types.js';

export const DEFAULT_ALLOW_CLIENTS = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  'fc00::/7',
] as const;

const DNS_PORT = 53;

/** Environment overrides for container use: variable → config path and how to read it. */
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
} as const satisfies Record<string, { path: readonly string[]; kind: 'list' | 'number' | 'string' }>;

export interface LoadConfigOptions {
  /** The YAML file; relative paths inside it resolve against its directory. */
  file: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Where default upstreams come from when the file names none. */
  resolvConfPath?: string;
}

function invalid(path: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_CONFIG_INVALID', `config ${path}: ${problem}`);
}

type Json = unknown;
type Obj = Record<string, Json>;

function isObject(value: Json): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A section reader: rejects unknown keys and names the path of every problem. */
function section(value: Json, path: string, keys: readonly string[]): Obj {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalid(path, 'must be a mapping');
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw invalid(`${path}.${key}`, `unknown key (known: ${keys.join(', ')})`);
    }
  }
  return value;
}

function integer(value: Json, path: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(path, 'must be an integer');
  if (value < min || value > max) throw invalid(path, `must be between ${min} and ${max}`);
  return value;
}

function oneOf<T extends string>(value: Json, path: string, choices: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  const found = choices.find((c) => c === value);
  if (found === undefined) throw invalid(path, `must be one of ${choices.join(', ')} (got ${JSON.stringify(value)})`);
  return found;
}

function stringList(value: Json, path: string, fallback: readonly string[]): string[] {
  if (value === undefined || value === null) return [...fallback];
  if (!Array.isArray(value)) throw invalid(path, 'must be a list');
  return value.map((item, i) => {
    if (typeof item !== 'string') throw invalid(`${path}[${i}]`, 'must be a string');
    return item;
  });
}

function hostPorts(value: Json, path: string, fallback: readonly string[], defaultPort?: number): HostPort[] {
  return stringList(value, path, fallback).map((text, i) => {
    const parsed = parseHostPort(text, defaultPort);
    if (parsed === undefined) {
      throw invalid(`${path}[${i}]`, `${JSON.stringify(text)} is not an address:port ("127.0.0.1:5353", "[::1]:5353")`);
    }
    return parsed;
  });
}

function ipLiteral(value: Json, path: string, fallback: string, family: 4 | 6): string {
  if (value === undefined || value === null) return fallback;
  const parsed = typeof value === 'string' ? parseHostPort(value, 0) : undefined;
  if (parsed === undefined || parsed.family !== family || value !== parsed.host) {
    throw invalid(path, `must be an IPv${family} address (got ${JSON.stringify(value)})`);
  }
  return parsed.host;
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

function applyEnv(raw: Obj, env: Readonly<Record<string, string | undefined>>): void {
  for (const [name, rule] of Object.entries(ENV_OVERRIDES)) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    let value: Json;
    if (rule.kind === 'list') value = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    else if (rule.kind === 'number') {
      value = Number(text);
      if (!Number.isFinite(value)) throw invalid(name, `environment variable must be a number (got ${JSON.stringify(text)})`);
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
  }
}

function blocklists(value: Json, path: string): BlocklistConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(path, 'must be a list');
  const names = new Set<string>();
  return value.map((item: Json, i) => {
    const p = `${path}[${i}]`;
    const entry = section(item, p, ['name', 'source', 'format', 'mode', 'refreshSec', 'maxShrinkPercent']);
    const name = entry['name'];
    if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
      throw invalid(`${p}.name`, 'must be 1-64 letters, digits, ".", "_" or "-"');
    }
    if (names.has(name)) throw invalid(`${p}.name`, `duplicate list name ${JSON.stringify(name)}`);
    names.add(name);
    const source = entry['source'];
    if (typeof source !== 'string' || source.trim() === '') throw invalid(`${p}.source`, 'must be a file path or an http(s) URL');
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
      let url: URL | undefined;
      try {
        url = new URL(source);
      } catch {
        url = undefined; // reported below
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        throw invalid(`${p}.source`, `${JSON.stringify(source)} is not an http(s) URL or a file path`);
      }
    }
    return Object.freeze({
      name,
      source,
      format: oneOf(entry['format'], `${p}.format`, LIST_FORMATS, 'auto'),
      mode: oneOf(entry['mode'], `${p}.mode`, LIST_MODES, 'block'),
      refreshSec: integer(entry['refreshSec'], `${p}.refreshSec`, 86_400, 60, 30 * 86_400),
      maxShrinkPercent: integer(entry['maxShrinkPercent'], `${p}.maxShrinkPercent`, 50, 0, 100),
    });
  });
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** A wildcard listener also receives what is sent to loopback; other addresses may be other hosts (a VPC resolver). */
function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

function cidrs(value: Json, path: string): Cidr[] {
  return stringList(value, path, DEFAULT_ALLOW_CLIENTS).map((text, i) => {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw invalid(`${path}[${i}]`, `${JSON.stringify(text)} is not a CIDR ("10.0.0.0/8", "fc00::/7")`);
    return cidr;
  });
}

/** Validates an already-parsed document (env overrides applied) into a frozen Config. */
export function validateConfig(rawInput: Json, baseDir: string, resolvConfPath = '/etc/resolv.conf'): Config {
  const raw = section(rawInput, '(root)', [
    'dns',
    'upstreams',
    'upstreamTimeoutMs',
    'block',
    'blocklists',
    'allowlist',
    'cache',
    'log',
    'dataDir',
    'database',
    'admin',
  ]);
  const dns = section(raw['dns'], 'dns', [
    'listen',
    'allowClients',
    'tcpIdleTimeoutMs',
    'tcpReadTimeoutMs',
    'tcpMaxConnections',
    'tcpMaxConnectionsPerClient',
    'rateLimit',
  ]);
  const listen = hostPorts(dns['listen'], 'dns.listen', ['127.0.0.1:5353']);
  if (listen.length === 0) throw invalid('dns.listen', 'needs at least one address');

  const upstreamSource =
    raw['upstreams'] === undefined || raw['upstreams'] === null ? 'the nameservers of ' + resolvConfPath : 'upstreams';
  const upstreams = hostPorts(raw['upstreams'], 'upstreams', readResolvConfNameservers(resolvConfPath), DNS_PORT);
  if (upstreams.length === 0) throw invalid('upstreams', `no upstream DNS server (none in ${upstreamSource})`);
  for (const [i, up] of upstreams.entries()) {
    if (listen.some((l) => l.port === up.port && (l.host === up.host || (isWildcard(l.host) && isLoopback(up.host))))) {
      throw invalid(`upstreams[${i}]`, `${up.host}:${up.port} is one of poolsink's own listeners (a forwarding loop)`);
    }
  }

  const block = section(raw['block'], 'block', ['response', 'sinkholeIpv4', 'sinkholeIpv6', 'ttlSec']);
  const cache = section(raw['cache'], 'cache', ['maxEntries', 'minTtlSec', 'maxTtlSec', 'serveStaleSec']);
  const cacheConfig = {
    maxEntries: integer(cache['maxEntries'], 'cache.maxEntries', 100_000, 0, 50_000_000),
    minTtlSec: integer(cache['minTtlSec'], 'cache.minTtlSec', 0, 0, 86_400),
    maxTtlSec: integer(cache['maxTtlSec'], 'cache.maxTtlSec', 86_400, 0, 604_800),
    serveStaleSec: integer(cache['serveStaleSec'], 'cache.serveStaleSec', 86_400, 0, 604_800),
  };
  if (cacheConfig.minTtlSec > cacheConfig.maxTtlSec) throw invalid('cache.minTtlSec', 'must not exceed cache.maxTtlSec');

  const allowlist = stringList(raw['allowlist'], 'allowlist', []).map((text, i) => {
    const name = normalizeDomain(text.startsWith('*.') ? text.slice(2) : text);
    if (name === undefined) throw invalid(`allowlist[${i}]`, `${JSON.stringify(text)} is not a domain name`);
    return name;
  });
  const log = section(raw['log'], 'log', ['level']);
  const rateLimit = section(dns['rateLimit'], 'dns.rateLimit', ['qps', 'burst', 'action']);
  const rateLimitQps = integer(rateLimit['qps'], 'dns.rateLimit.qps', 1_000, 0, 10_000_000);
  const dataDir = pathValue(raw['dataDir'], 'dataDir', baseDir, 'data');

  return Object.freeze({
    baseDir,
    dns: Object.freeze({
      listen: Object.freeze(listen),
      allowClients: Object.freeze(cidrs(dns['allowClients'], 'dns.allowClients')),
      tcpIdleTimeoutMs: integer(dns['tcpIdleTimeoutMs'], 'dns.tcpIdleTimeoutMs', 10_000, 100, 600_000),
      tcpReadTimeoutMs: integer(dns['tcpReadTimeoutMs'], 'dns.tcpReadTimeoutMs', 5_000, 100, 600_000),
      tcpMaxConnections: integer(dns['tcpMaxConnections'], 'dns.tcpMaxConnections', 1_000, 1, 100_000),
      tcpMaxConnectionsPerClient: integer(
        dns['tcpMaxConnectionsPerClient'],
        'dns.tcpMaxConnectionsPerClient',
        50,
        1,
        100_000,
      ),
      rateLimit: Object.freeze({
        qps: rateLimitQps,
        burst: integer(rateLimit['burst'], 'dns.rateLimit.burst', Math.max(rateLimitQps * 2, 1), 1, 100_000_000),
        action: oneOf(rateLimit['action'], 'dns.rateLimit.action', RATE_LIMIT_ACTIONS, 'refuse'),
      }),
    }),
    upstreams: Object.freeze(upstreams),
    upstreamTimeoutMs: integer(raw['upstreamTimeoutMs'], 'upstreamTimeoutMs', 1_500, 50, 30_000),
    block: Object.freeze({
      response: oneOf(block['response'], 'block.response', BLOCK_RESPONSES, 'nxdomain'),
      sinkholeIpv4: ipLiteral(block['sinkholeIpv4'], 'block.sinkholeIpv4', '192.0.2.1', 4),
      sinkholeIpv6: ipLiteral(block['sinkholeIpv6'], 'block.sinkholeIpv6', '100::1', 6),
      ttlSec: integer(block['ttlSec'], 'block.ttlSec', 60, 0, 86_400),
    }),
    blocklists: Object.freeze(blocklists(raw['blocklists'], 'blocklists')),
    allowlist: Object.freeze(allowlist),
    cache: Object.freeze(cacheConfig),
    log: Object.freeze({ level: oneOf(log['level'], 'log.level', LOG_LEVELS, 'info') }),
    dataDir,
    database: databaseConfig(raw['database'], baseDir, dataDir),
    admin: adminConfig(raw['admin'], baseDir),
  });
}

/** A path option resolved against the config file's directory. */
function pathValue(value: Json, path: string, baseDir: string, fallback: string): string {
  if (value === undefined || value === null) return resolve(baseDir, fallback);
  if (typeof value !== 'string' || value.trim() === '') throw invalid(path, 'must be a non-empty path');
  if (value.includes('\0')) throw invalid(path, 'must not contain NUL');
  return isAbsolute(value) ? value : resolve(baseDir, value);
}

function databaseConfig(value: Json, baseDir: string, dataDir: string) {
  const db = section(value, 'database', ['path', 'retentionDays', 'maxEvents', 'maxBufferedEvents', 'flushIntervalMs']);
  return Object.freeze({
    path: db['path'] === undefined || db['path'] === null ? resolve(dataDir, 'poolsink.db') : pathValue(db['path'], 'database.path', baseDir, ''),
    retentionDays: integer(db['retentionDays'], 'database.retentionDays', 90, 1, 36_500),
    maxEvents: integer(db['maxEvents'], 'database.maxEvents', 50_000_000, 1_000, 2_000_000_000),
    maxBufferedEvents: integer(db['maxBufferedEvents'], 'database.maxBufferedEvents', 200_000, 1_000, 10_000_000),
    flushIntervalMs: integer(db['flushIntervalMs'], 'database.flushIntervalMs', 250, 10, 60_000),
  });
}

function adminConfig(value: Json, baseDir: string): AdminConfig {
  const admin = section(value, 'admin', ['listen', 'token', 'tokenFile', 'metricsAuth']);
  const listenText = admin['listen'] ?? '127.0.0.1:8053';
  const listen = typeof listenText === 'string' ? parseHostPort(listenText) : undefined;
  if (listen === undefined) {
    throw invalid('admin.listen', `${JSON.stringify(listenText)} is not an address:port ("127.0.0.1:8053", "[::1]:8053")`);
  }
  const token = admin['token'];
  if (token !== undefined && token !== null && (typeof token !== 'string' || token.length < 16 || /\s/.test(token))) {
    throw invalid('admin.token', 'must be a string of at least 16 characters without spaces');
  }
  const tokenFile = admin['tokenFile'];
  if (typeof token === 'string' && tokenFile !== undefined && tokenFile !== null) {
    throw invalid('admin.tokenFile', 'set admin.token or admin.tokenFile, not both');
  }
  const metricsAuth = admin['metricsAuth'] ?? true;
  if (typeof metricsAuth !== 'boolean') throw invalid('admin.metricsAuth', 'must be true or false');
  return Object.freeze({
    listen,
    ...(typeof token === 'string' ? { token } : {}),
    ...(tokenFile !== undefined && tokenFile !== null ? { tokenFile: pathValue(tokenFile, 'admin.tokenFile', baseDir, '') } : {}),
    metricsAuth,
  });
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
  let doc: Json;
  try {
    doc = parseYaml(text);
  } catch (err: unknown) {
    throw new PoolsinkError('ERR_CONFIG_INVALID', `config file ${file} is not valid YAML: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObject(doc)) throw invalid('(root)', 'must be a mapping');
  applyEnv(doc, options.env ?? process.env);
  return validateConfig(doc, dirname(file), options.resolvConfPath);
}
