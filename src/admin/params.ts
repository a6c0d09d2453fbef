/**
 * The admin API's request parameters: the parsers for values that need more than a schema keyword
 * (times, cursors, IPs, domain names, list names), the parameter schemas built on them, and the
 * /events query. Every value is hostile until it has passed one of these functions; each failure is
 * an InvalidParameterError (ERR_INVALID, 400) naming the parameter. Nothing here touches the store:
 * it only ever sees typed, bounded values. How a route declares its query: query.ts.
 *
 * `limit` above the maximum is refused (400), not clamped: a client that asked for 5000 rows and
 * silently got 1000 could take the page for the whole answer.
 */
import { isIP, SocketAddress } from 'node:net';
import { Type, type SchemaOptions, type Static, type TInteger, type TUnsafe } from '@sinclair/typebox';
import type { BlockAction } from '../dns/block-event.js';
import type { ClientSet, EventCursor, EventFilter } from '../store/types.js';
import { parseCidr } from '../net/address.js';
import { LIST_NAME, LIST_NAME_PROBLEM, allowlistEntryName } from '../config/list-schema.js';
import { stringEnum } from '../config/schema-types.js';
import { bounded, createQueryReader, invalid, parsedParam, parseInteger } from './query.js';

export { checkParamNames } from './query.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
export const MAX_LIST_PARAM_LENGTH = 200;
export const EVENT_FORMATS = ['json', 'ndjson', 'csv'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];
export const BLOCK_ACTIONS: readonly BlockAction[] = ['blocked', 'alerted'];

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
const BASE64URL_PATTERN = '^[A-Za-z0-9_-]+$';
const BASE64URL = new RegExp(BASE64URL_PATTERN);
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL = /[\x00-\x1f\x7f]/;

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
  return value === undefined ? fallback : parseInteger(param, value, 1, max);
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

/** A `client` filter: one address (exactly as parseClientIp), or a network to resolve (clientsIn). */
export type ClientFilter =
  | { readonly kind: 'address'; readonly ip: string }
  | { readonly kind: 'network'; readonly cidr: string };

const CLIENT_FILTER_TEXT = 'an IPv4 or IPv6 address or CIDR (10.0.3.0/24, fd00:1::/64)';

/** An address ("10.0.3.5", "fd00:1::5") or, with a slash, a CIDR ("10.0.3.0/24", "fd00:1::/64"). */
export function parseClientFilter(param: string, value: string): ClientFilter {
  const text = bounded(param, value);
  if (!text.includes('/')) return { kind: 'address', ip: parseClientIp(param, text) };
  const cidr = text.includes('%') || text.trim() !== text ? undefined : parseCidr(text);
  if (cidr === undefined) throw invalid(param, `must be ${CLIENT_FILTER_TEXT}; the prefix length at most 32 or 128`);
  return { kind: 'network', cidr: cidr.text };
}

export type ClientFields = { client?: string; clients?: readonly string[] };

/** The known hosts in a CIDR as a `clients` filter, refused (naming `param`) when there are too many. */
export async function networkClients(
  param: string,
  cidr: string | undefined,
  reader: { clientsIn(cidr: string): ClientSet | Promise<ClientSet> },
): Promise<ClientFields> {
  if (cidr === undefined) return {};
  const set = await reader.clientsIn(cidr);
  if (set.kind === 'too-many')
    throw invalid(param, `${cidr} matches more than ${set.max} known hosts: use a longer prefix`);
  return { clients: set.clients };
}

/** The filter fields for a `client` filter: an address as is, a network as the known hosts in it. */
export function clientFields(
  param: string,
  client: ClientFilter | undefined,
  reader: { clientsIn(cidr: string): ClientSet | Promise<ClientSet> },
): Promise<ClientFields> {
  if (client?.kind === 'address') return Promise.resolve({ client: client.ip });
  return networkClients(param, client?.cidr, reader);
}

/** A domain name as the lists and the block log hold it: lower case, no trailing dot, punycode. */
export function parseDomain(param: string, value: string): string {
  const text = bounded(param, value).trim();
  const name = allowlistEntryName(text);
  if (name === undefined) throw invalid(param, 'must be a domain name with at least two labels (pool.example)');
  return name;
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

const TIME_TEXT =
  'an ISO-8601 date or date-time (UTC when no offset is given), or a duration back from now: 30s, 15m, 24h, 7d, 2w';

/** A point in time as ms since epoch (parseTime); `options.default` is query text too (`24h`). */
export function timeParam(description: string, options: SchemaOptions = {}): TUnsafe<number> {
  return parsedParam((param, text, { nowMs }) => parseTime(param, text, nowMs), {
    ...options,
    description: `${description}: ${TIME_TEXT}`,
    examples: ['24h', '2024-05-01T00:00:00Z'],
  });
}

/** A page size from 1 to `maximum` (default MAX_LIMIT), with `default` (DEFAULT_LIMIT unless given). */
export function limitParam(
  description: string,
  bounds: { readonly maximum: number; readonly default?: number } = { maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
): TInteger {
  return Type.Integer({ ...bounds, minimum: 1, description });
}

export function clientIpParam(description: string): TUnsafe<string> {
  return parsedParam(parseClientIp, { description, examples: ['192.0.2.10', '2001:db8::5'] });
}

export function clientFilterParam(description: string): TUnsafe<ClientFilter> {
  return parsedParam(parseClientFilter, {
    description: `${description}: ${CLIENT_FILTER_TEXT}; a CIDR matches the hosts the block log has seen in it`,
    examples: ['192.0.2.10', '10.0.3.0/24', 'fd00:1::/64'],
  });
}

export function domainParam(description: string, options: SchemaOptions = {}): TUnsafe<string> {
  return parsedParam(parseDomain, { examples: ['pool.example'], ...options, description });
}

export function listFilterParam(description: string): TUnsafe<string> {
  return parsedParam(parseListFilter, { description, maxLength: MAX_LIST_PARAM_LENGTH });
}

export function cursorParam(description: string): TUnsafe<EventCursor> {
  return parsedParam(parseCursor, { description, maxLength: MAX_CURSOR_LENGTH, pattern: BASE64URL_PATTERN });
}

/** The filters shared by /events and its exports. */
export const eventFilterParams = {
  client: Type.Optional(clientFilterParam('Client address or CIDR')),
  domain: Type.Optional(domainParam('This name and its subdomains')),
  list: Type.Optional(listFilterParam('List name')),
  action: Type.Optional(stringEnum(BLOCK_ACTIONS, { description: 'blocked or alerted' })),
  since: Type.Optional(timeParam('Inclusive lower bound')),
  until: Type.Optional(timeParam('Exclusive upper bound')),
};

/** `/events`: the filters, `format`, and `limit` and `cursor` for a JSON page. */
export const EventsQuery = Type.Object({
  ...eventFilterParams,
  // No schema default: given with an export it is an error, so absent must stay absent (DEFAULT_LIMIT).
  limit: Type.Optional(
    limitParam(`Events per page (json only, default ${DEFAULT_LIMIT}); above ${MAX_LIMIT} is a 400`, {
      maximum: MAX_LIMIT,
    }),
  ),
  cursor: Type.Optional(cursorParam('nextCursor of the previous page (json only)')),
  format: stringEnum(EVENT_FORMATS, { default: 'json', description: 'json page or full export' }),
});

export interface EventQuery {
  readonly filter: EventFilter;
  /** A CIDR `client`, to resolve into `filter.clients` (networkClients); an address is in `filter.client`. */
  readonly network?: string;
  readonly format: EventFormat;
  readonly limit: number;
  readonly cursor?: EventCursor;
}

/** The rules between /events parameters, on top of each parameter's own. */
export function toEventQuery(query: Static<typeof EventsQuery>): EventQuery {
  const { since, until, format, limit, cursor, client, domain, list, action } = query;
  if (since !== undefined && until !== undefined && since >= until)
    throw invalid('since', 'must be earlier than until');
  const filter: EventFilter = {
    ...(client?.kind === 'address' ? { client: client.ip } : {}),
    ...(domain !== undefined ? { domain } : {}),
    ...(list !== undefined ? { list } : {}),
    ...(action !== undefined ? { action } : {}),
    ...(since !== undefined ? { sinceMs: since } : {}),
    ...(until !== undefined ? { untilMs: until } : {}),
  };
  const network = client?.kind === 'network' ? { network: client.cidr } : {};
  if (format !== 'json') {
    const exported = `does not apply to format=${format}, which exports every matching event`;
    if (limit !== undefined) throw invalid('limit', exported);
    if (cursor !== undefined) throw invalid('cursor', exported);
    return { filter, format, limit: DEFAULT_LIMIT, ...network };
  }
  return {
    filter,
    format,
    limit: limit ?? DEFAULT_LIMIT,
    ...(cursor !== undefined ? { cursor } : {}),
    ...network,
  };
}

/** `/events` parameters from a query string (the route itself reads them through withQuery). */
export function parseEventQuery(query: URLSearchParams, nowMs: number): EventQuery {
  return toEventQuery(createQueryReader(EventsQuery)(query, { nowMs }));
}
