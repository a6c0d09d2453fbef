/**
 * Parsing and validation of the admin API's request parameters. Every value is hostile until it
 * has passed one of these functions; each failure is an InvalidParameterError (ERR_INVALID, 400)
 * naming the parameter. Nothing here touches the store: it only ever sees typed, bounded values.
 *
 * `limit` above the maximum is refused (400), not clamped: a client that asked for 5000 rows and
 * silently got 1000 could take the page for the whole answer.
 */
import { isIP, SocketAddress } from 'node:net';
import type { BlockAction } from '../dns/block-event.js';
import type { EventCursor, EventFilter } from '../store/types.js';
import { LIST_NAME, LIST_NAME_PROBLEM, allowlistEntryName } from '../config/list-schema.js';
import { InvalidParameterError } from './http-errors.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
export const MAX_LIST_PARAM_LENGTH = 200;
export const EVENT_FORMATS = ['json', 'ndjson', 'csv'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];
export const BLOCK_ACTIONS: readonly BlockAction[] = ['blocked', 'alerted'];

/** Longer inputs are refused before any parsing. */
const MAX_PARAM_LENGTH = 1024;
const MAX_CURSOR_LENGTH = 128;
/** Durations reach back at most this far (100 years). */
const MAX_DURATION_MS = 36_500 * 86_400_000;
/** Date's own range. */
const MAX_TIME_MS = 8.64e15;

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION = /^(\d{1,12})([smhdw])$/;
/** `2024-05-01`, `2024-05-01T10:00`, `2024-05-01T10:00:00.5Z`, `2024-05-01 10:00:00+02:00`. */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL = /[\x00-\x1f\x7f]/;

type Writable<T> = { -readonly [K in keyof T]: T[K] };

function invalid(param: string, problem: string): InvalidParameterError {
  return new InvalidParameterError(param, problem);
}

function bounded(param: string, value: string): string {
  if (value.length === 0) throw invalid(param, 'must not be empty');
  if (value.length > MAX_PARAM_LENGTH) throw invalid(param, `must be at most ${MAX_PARAM_LENGTH} characters`);
  return value;
}

/** The one value of `name`, undefined when absent; given twice is an error. */
export function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw invalid(name, 'given more than once');
  return values[0];
}

/** The one value of a required parameter. */
export function required(query: URLSearchParams, name: string): string {
  const value = single(query, name);
  if (value === undefined) throw invalid(name, 'is required');
  return value;
}

/** Refuses any parameter outside `allowed` (a typo like `clinet=` would otherwise widen the result). */
export function checkParamNames(query: URLSearchParams, allowed: readonly string[]): void {
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      const shown = name.length > 64 ? `${name.slice(0, 64)}...` : name;
      throw invalid(
        shown,
        allowed.length === 0 ? 'this route takes no parameters' : `unknown parameter (accepted: ${allowed.join(', ')})`,
      );
    }
  }
}

function parseIsoTime(text: string): number | undefined {
  const m = ISO_TIME.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  utc.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
  // Rejects 2024-02-30, 25:00 and the like, which Date would roll over.
  if (
    utc.getUTCFullYear() !== year ||
    utc.getUTCMonth() !== month - 1 ||
    utc.getUTCDate() !== day ||
    utc.getUTCHours() !== hour ||
    utc.getUTCMinutes() !== minute ||
    utc.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  let offsetMin = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zoneHours = Number(digits.slice(0, 2));
    const zoneMinutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (zoneHours > 23 || zoneMinutes > 59) return undefined;
    offsetMin = sign * (zoneHours * 60 + zoneMinutes);
  }
  return utc.getTime() - offsetMin * 60_000;
}

/**
 * A point in time, ms since epoch: an ISO-8601 date or date-time (UTC when it has no offset), or a
 * duration back from `nowMs` (`30s`, `15m`, `24h`, `7d`, `2w`).
 */
export function parseTime(param: string, value: string, nowMs: number): number {
  const text = bounded(param, value).trim();
  const duration = DURATION.exec(text);
  if (duration !== null) {
    const ms = Number(duration[1]) * (DURATION_UNIT_MS[duration[2] ?? ''] ?? 0);
    if (ms > MAX_DURATION_MS) throw invalid(param, 'duration is longer than 100 years');
    return Math.max(0, nowMs - ms);
  }
  const time = parseIsoTime(text);
  if (time === undefined || !Number.isFinite(time) || Math.abs(time) > MAX_TIME_MS) {
    throw invalid(param, 'must be an ISO-8601 time (2024-05-01T12:00:00Z) or a duration (30s, 15m, 24h, 7d)');
  }
  return Math.max(0, time);
}

/** An integer from 1 to `max`; `fallback` when absent. Above `max` is an error, not clamped. */
export function parseLimit(
  param: string,
  value: string | undefined,
  fallback = DEFAULT_LIMIT,
  max = MAX_LIMIT,
): number {
  if (value === undefined) return fallback;
  const text = bounded(param, value);
  const n = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= max)) throw invalid(param, `must be an integer from 1 to ${max}`);
  return n;
}

export function encodeCursor(cursor: EventCursor): string {
  return Buffer.from(JSON.stringify({ timeMs: cursor.timeMs, id: cursor.id }), 'utf8').toString('base64url');
}

function isCursorNumber(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

/** The cursor `encodeCursor` made: base64url JSON `{timeMs, id}` with non-negative integers. */
export function parseCursor(param: string, value: string): EventCursor {
  const text = bounded(param, value);
  if (text.length > MAX_CURSOR_LENGTH || !BASE64URL.test(text))
    throw invalid(param, 'is not a cursor returned by this API');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid(param, 'is not a cursor returned by this API');
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded))
    throw invalid(param, 'is not a cursor returned by this API');
  const keys = Object.keys(decoded);
  const timeMs: unknown = Reflect.get(decoded, 'timeMs');
  const id: unknown = Reflect.get(decoded, 'id');
  if (keys.length !== 2 || !isCursorNumber(timeMs, MAX_TIME_MS) || !isCursorNumber(id, Number.MAX_SAFE_INTEGER)) {
    throw invalid(param, 'is not a cursor returned by this API');
  }
  return { timeMs, id };
}

/** An IPv4 or IPv6 literal (no zone), in the canonical form the kernel reports clients in. */
export function parseClientIp(param: string, value: string): string {
  const text = bounded(param, value);
  const family = text.includes('%') ? 0 : isIP(text);
  if (family === 0) throw invalid(param, 'must be an IPv4 or IPv6 address');
  if (family === 4) return text;
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

/** A domain name as the lists and the block log hold it: lower case, no trailing dot, punycode. */
export function parseDomain(param: string, value: string): string {
  const text = bounded(param, value).trim();
  const name = allowlistEntryName(text);
  if (name === undefined) throw invalid(param, 'must be a domain name with at least two labels (pool.example)');
  return name;
}

export function parseAction(param: string, value: string): BlockAction {
  const action = BLOCK_ACTIONS.find((a) => a === value);
  if (action === undefined) throw invalid(param, `must be one of ${BLOCK_ACTIONS.join(', ')}`);
  return action;
}

export function parseFormat(param: string, value: string | undefined): EventFormat {
  if (value === undefined) return 'json';
  const format = EVENT_FORMATS.find((f) => f === value);
  if (format === undefined) throw invalid(param, `must be one of ${EVENT_FORMATS.join(', ')}`);
  return format;
}

/** A list name as a filter: free text (lists added at runtime may be named more loosely), bounded. */
export function parseListFilter(param: string, value: string): string {
  const text = bounded(param, value);
  if (text.length > MAX_LIST_PARAM_LENGTH) throw invalid(param, `must be at most ${MAX_LIST_PARAM_LENGTH} characters`);
  if (CONTROL.test(text)) throw invalid(param, 'must not contain control characters');
  return text;
}

/** A list's name where it names one to change: the configuration's rule (no slashes, no dots first). */
export function parseListName(param: string, value: string): string {
  const text = bounded(param, value);
  if (!LIST_NAME.test(text)) throw invalid(param, LIST_NAME_PROBLEM);
  return text;
}

export function parseBoolean(param: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalid(param, 'must be true or false');
}

export interface EventQuery {
  readonly filter: EventFilter;
  readonly format: EventFormat;
  readonly limit: number;
  readonly cursor?: EventCursor;
}

/** The filters shared by /events and its exports: client, domain, list, action, since, until. */
export function parseEventFilter(query: URLSearchParams, nowMs: number): EventFilter {
  const filter: Writable<EventFilter> = {};
  const client = single(query, 'client');
  if (client !== undefined) filter.client = parseClientIp('client', client);
  const domain = single(query, 'domain');
  if (domain !== undefined) filter.domain = parseDomain('domain', domain);
  const list = single(query, 'list');
  if (list !== undefined) filter.list = parseListFilter('list', list);
  const action = single(query, 'action');
  if (action !== undefined) filter.action = parseAction('action', action);
  const since = single(query, 'since');
  if (since !== undefined) filter.sinceMs = parseTime('since', since, nowMs);
  const until = single(query, 'until');
  if (until !== undefined) filter.untilMs = parseTime('until', until, nowMs);
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined && filter.sinceMs >= filter.untilMs) {
    throw invalid('since', 'must be earlier than until');
  }
  return filter;
}

/** `/events`: filters, plus `limit` and `cursor` for a JSON page or `format` for an export. */
export function parseEventQuery(query: URLSearchParams, nowMs: number): EventQuery {
  const filter = parseEventFilter(query, nowMs);
  const format = parseFormat('format', single(query, 'format'));
  const limitText = single(query, 'limit');
  const cursorText = single(query, 'cursor');
  if (format !== 'json') {
    if (limitText !== undefined)
      throw invalid('limit', `does not apply to format=${format}, which exports every matching event`);
    if (cursorText !== undefined)
      throw invalid('cursor', `does not apply to format=${format}, which exports every matching event`);
    return { filter, format, limit: DEFAULT_LIMIT };
  }
  const limit = parseLimit('limit', limitText);
  if (cursorText === undefined) return { filter, format, limit };
  return { filter, format, limit, cursor: parseCursor('cursor', cursorText) };
}
