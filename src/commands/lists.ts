/**
 * `poolsink lists` and `poolsink lists refresh [NAME] [--force]`: the running server's list state,
 * through its admin API (the lists live in the server, not in the files), with the token the
 * configuration names.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import type { Config } from '../config/types.js';
import { PoolsinkError, errorMessage } from '../errors.js';
import { GENERATED_TOKEN_FILE } from '../admin/auth.js';
import { loadedFromLabel } from '../blocklist/list-summary.js';
import { formatHostPort } from '../net/address.js';
import { terminalText } from '../net/presentation.js';
import { fitCell, formatTable } from './table.js';

function adminToken(config: Config): string {
  if (config.admin.token !== undefined) return config.admin.token;
  const file = config.admin.tokenFile ?? join(config.dataDir, GENERATED_TOKEN_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err: unknown) {
    throw new PoolsinkError(
      'ERR_ADMIN_TOKEN',
      `cannot read the admin token from ${file} (has poolsink been started?): ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  return value === null || value === undefined ? '-' : terminalText(String(value));
}

/** One admin API call with the configured token; a JSON `body` is sent when given. */
export async function call(
  config: Config,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const { response, base } = await send(config, method, path, body);
  const answer: unknown = await response.body.json();
  if (!isRecord(answer)) throw new PoolsinkError('ERR_UPSTREAM_FAILED', `unexpected answer from ${base}${path}`);
  if (response.statusCode >= 400) throw apiError(response.statusCode, answer);
  return answer;
}

/** A GET whose answer is text (an export): the body as sent; an error answer throws as call() does. */
export async function callText(config: Config, path: string): Promise<string> {
  const { response } = await send(config, 'GET', path, undefined);
  const text = await response.body.text();
  if (response.statusCode >= 400) {
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = {}; // not JSON: the status says enough
    }
    throw apiError(response.statusCode, isRecord(answer) ? answer : {});
  }
  return text;
}

function apiError(status: number, answer: Record<string, unknown>): PoolsinkError {
  const error = answer['error'];
  const message = isRecord(error) ? field(error, 'message') : `HTTP ${status}`;
  const central = isRecord(error) && error['code'] === 'ERR_CENTRAL_UNAVAILABLE';
  const code = central
    ? 'ERR_CENTRAL_UNAVAILABLE'
    : status === 404
      ? 'ERR_NOT_FOUND'
      : status === 409
        ? 'ERR_CONFLICT'
        : 'ERR_INVALID';
  return new PoolsinkError(code, message);
}

async function send(
  config: Config,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
): Promise<{ response: Awaited<ReturnType<typeof request>>; base: string }> {
  const host =
    config.admin.listen.host === '0.0.0.0'
      ? '127.0.0.1'
      : config.admin.listen.host === '::'
        ? '::1'
        : config.admin.listen.host;
  const base = `http://${formatHostPort({ host, port: config.admin.listen.port })}`;
  let response: Awaited<ReturnType<typeof request>>;
  try {
    const authorization = `Bearer ${adminToken(config)}`;
    response = await request(
      base + path,
      body === undefined
        ? { method, headers: { authorization } }
        : { method, headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) },
    );
  } catch (err: unknown) {
    if (err instanceof PoolsinkError) throw err;
    throw new PoolsinkError(
      'ERR_UPSTREAM_FAILED',
      `cannot reach the admin API at ${base} (is poolsink running?): ${errorMessage(err)}`,
      { cause: err },
    );
  }
  return { response, base };
}

/** The FROM column: where the entries came from, `not fetched yet` and `failed` included (list-summary.ts). */
function loadedFromOf(list: Record<string, unknown>): string {
  const { source, loadedFrom, lastError } = list;
  return loadedFromLabel({
    source: typeof source === 'string' ? source : '',
    ...(loadedFrom === 'source' || loadedFrom === 'last-known-good' ? { loadedFrom } : {}),
    ...(typeof lastError === 'string' ? { lastError } : {}),
  });
}

/** Seconds as the largest whole unit: 45s, 12m, 3h, 2d. */
function shortAge(value: unknown): string {
  if (typeof value !== 'number') return '-';
  if (value < 60) return `${value}s`;
  if (value < 3600) return `${Math.floor(value / 60)}m`;
  if (value < 86_400) return `${Math.floor(value / 3600)}h`;
  return `${Math.floor(value / 86_400)}d`;
}

/**
 * One row per list, within 120 columns: the source is shown once (an error
 * quoting it says "<source>" instead), long sources and errors keep their start and end.
 */
export async function listsReport(config: Config): Promise<string> {
  const body = await call(config, 'GET', '/api/v1/lists');
  const lists = Array.isArray(body['lists']) ? body['lists'].filter(isRecord) : [];
  return formatTable(
    ['NAME', 'ORIGIN', 'MODE', 'ENTRIES', 'SKIPPED', 'AGE', 'FROM', 'LAST ERROR', 'SOURCE'],
    lists.map((l) => {
      const source = field(l, 'source');
      const error = field(l, 'lastError');
      return [
        fitCell(field(l, 'name'), 14),
        field(l, 'origin'),
        field(l, 'mode'),
        field(l, 'entries'),
        field(l, 'skipped'),
        shortAge(l['ageSec']),
        fitCell(loadedFromOf(l), 15),
        fitCell(source === '-' ? error : error.replaceAll(source, '<source>'), 22),
        fitCell(source, 22),
      ];
    }),
  );
}

export interface RefreshReport {
  table: string;
  /** True when any list's refresh was `rejected` or `failed`: the command then exits 1. */
  failed: boolean;
}

export async function refreshLists(config: Config, name: string | undefined, force: boolean): Promise<RefreshReport> {
  const path = name === undefined ? '/api/v1/lists/refresh' : `/api/v1/lists/${encodeURIComponent(name)}/refresh`;
  const body = await call(config, 'POST', `${path}${force ? '?force=true' : ''}`);
  const results = Array.isArray(body['results']) ? body['results'].filter(isRecord) : [];
  const failed = results.some((r) => r['outcome'] === 'rejected' || r['outcome'] === 'failed');
  const table = formatTable(
    ['NAME', 'OUTCOME', 'ENTRIES', 'BEFORE', 'MESSAGE'],
    results.map((r) => [
      field(r, 'name'),
      field(r, 'outcome'),
      field(r, 'entries'),
      field(r, 'previousEntries'),
      field(r, 'message'),
    ]),
  );
  return { table, failed };
}
