/**
 * `instance:` and `central:` beyond their schema (central-schema.ts): the instance name defaulted
 * to the host name, exactly one of url / urlFile, a postgres:// URL, and the files (urlFile,
 * passwordFile, ssl.caFile) read once at load, so a missing secret fails the start by its key.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { PoolsinkError, errorMessage } from '../errors.js';
import type { ConfigFile } from './schema.js';

export interface PostgresConfig {
  /** postgres:// URL (may hold a password when it came that way; never logged). */
  readonly connectionString: string;
  /** From passwordFile (trimmed); overrides one in the URL. */
  readonly password?: string;
  /** Absent: no TLS unless the URL asks for it (sslmode). */
  readonly ssl?: {
    /** PEM text of caFile. */
    readonly ca?: string;
    readonly rejectUnauthorized: boolean;
    readonly servername?: string;
  };
  readonly poolMax: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** A fleet read of the admin API gives up (local view) after this long: src/central/read-deadline.ts. */
  readonly readTimeoutMs: number;
  readonly shipIntervalMs: number;
  readonly batchSize: number;
  readonly syncIntervalMs: number;
  /** Central events older than this are dropped (0: kept); src/central/maintenance.ts. */
  readonly retentionDays: number;
}

export interface CentralConfig {
  readonly postgres?: PostgresConfig;
}

function invalid(path: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_CONFIG_INVALID', `config ${path}: ${problem}`);
}

function readConfigFile(baseDir: string, path: string, where: string): string {
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  try {
    return readFileSync(full, 'utf8');
  } catch (err: unknown) {
    throw invalid(where, `cannot read ${full}: ${errorMessage(err)}`);
  }
}

/** A host name that is not a valid instance name is cut to its first label's valid characters. */
export function instanceNameOf(file: ConfigFile['instance'], machine: () => string = hostname): string {
  if (file.name !== undefined) return file.name;
  const cleaned = machine()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return cleaned === '' ? 'poolsink' : cleaned;
}

function postgresUrl(text: string, where: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw invalid(where, 'is not a URL (postgres://user@host:5432/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw invalid(where, `must be postgres:// or postgresql:// (got ${url.protocol})`);
  if (url.hostname === '' && !url.searchParams.has('host')) throw invalid(where, 'names no host');
  return text.trim();
}

export function centralOf(file: ConfigFile['central'], baseDir: string): CentralConfig {
  const pg = file.postgres;
  if (pg === undefined) return {};
  const where = 'central.postgres';
  if ((pg.url === undefined) === (pg.urlFile === undefined))
    throw invalid(`${where}.url`, 'set exactly one of central.postgres.url or central.postgres.urlFile');
  const connectionString =
    pg.url !== undefined
      ? postgresUrl(pg.url, `${where}.url`)
      : postgresUrl(readConfigFile(baseDir, pg.urlFile ?? '', `${where}.urlFile`), `${where}.urlFile`);
  let password: string | undefined;
  if (pg.passwordFile !== undefined) {
    password = readConfigFile(baseDir, pg.passwordFile, `${where}.passwordFile`).trim();
    if (password === '') throw invalid(`${where}.passwordFile`, 'the file is empty');
  }
  const ssl = pg.ssl;
  let ca: string | undefined;
  if (ssl?.caFile !== undefined) {
    ca = readConfigFile(baseDir, ssl.caFile, `${where}.ssl.caFile`);
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      throw invalid(`${where}.ssl.caFile`, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
  return {
    postgres: {
      connectionString,
      ...(password !== undefined ? { password } : {}),
      ...(ssl !== undefined
        ? {
            ssl: {
              rejectUnauthorized: ssl.rejectUnauthorized,
              ...(ca !== undefined ? { ca } : {}),
              ...(ssl.servername !== undefined ? { servername: ssl.servername } : {}),
            },
          }
        : {}),
      poolMax: pg.pool.max,
      idleTimeoutMs: pg.pool.idleTimeoutMs,
      connectTimeoutMs: pg.connectTimeoutMs,
      readTimeoutMs: pg.readTimeoutMs,
      shipIntervalMs: pg.shipIntervalMs,
      batchSize: pg.batchSize,
      syncIntervalMs: pg.syncIntervalMs,
      retentionDays: pg.retentionDays,
    },
  };
}
