/**
 * How hosts look over HTTP (GET /hosts, /hosts/{ip}): the JSON view, the keyset cursor of /hosts
 * pages, and the csv and ndjson exports (chunked as the event exports are, export.ts).
 */
import type { TUnsafe } from '@sinclair/typebox';
import { presentName } from '../net/presentation.js';
import type { HostCursor, HostSummary } from '../store/types.js';
import { chunked, csvField, isoTime } from './export.js';
import { parseClientIp } from './params.js';
import { invalid, parsedParam } from './query.js';

export function hostView(host: HostSummary): Record<string, unknown> {
  return {
    clientIp: host.clientIp,
    firstSeen: isoTime(host.firstSeenMs),
    lastSeen: isoTime(host.lastSeenMs),
    firstSeenMs: host.firstSeenMs,
    lastSeenMs: host.lastSeenMs,
    blockedCount: host.blockedCount,
    distinctDomains: host.distinctDomains,
    topDomains: host.topDomains,
    incidentId: host.incidentId,
    identity: host.identity ?? null,
  };
}

const MAX_HOST_CURSOR_LENGTH = 160;
const NOT_A_CURSOR = 'is not a cursor returned by this API';

export function encodeHostCursor(cursor: HostCursor): string {
  return Buffer.from(JSON.stringify([cursor.lastSeenMs, cursor.clientIp]), 'utf8').toString('base64url');
}

/**
 * The array a base64url JSON cursor holds, of `length` items (a /hosts or /fleet/hosts cursor):
 * anything else is a 400 naming `param`. The caller checks the items.
 */
export function decodeArrayCursor(param: string, value: string, length: number, maxLength: number): unknown[] {
  if (value.length > maxLength || !/^[A-Za-z0-9_-]+$/.test(value)) throw invalid(param, NOT_A_CURSOR);
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw invalid(param, NOT_A_CURSOR); // not JSON: not one of ours
  }
  if (!Array.isArray(decoded) || decoded.length !== length) throw invalid(param, NOT_A_CURSOR);
  return decoded;
}

/** A cursor's lastSeenMs: a non-negative safe integer. */
export function isCursorTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The cursor encodeHostCursor made: base64url JSON `[lastSeenMs, clientIp]`. */
export function parseHostCursor(param: string, value: string): HostCursor {
  const [lastSeenMs, clientIp] = decodeArrayCursor(param, value, 2, MAX_HOST_CURSOR_LENGTH);
  if (!isCursorTime(lastSeenMs) || typeof clientIp !== 'string') throw invalid(param, NOT_A_CURSOR);
  return { lastSeenMs, clientIp: parseClientIp(param, clientIp) };
}

export function hostCursorParam(description: string): TUnsafe<HostCursor> {
  return parsedParam(parseHostCursor, { description, maxLength: MAX_HOST_CURSOR_LENGTH, pattern: '^[A-Za-z0-9_-]+$' });
}

/** The host export's columns; topDomains as `name:count` (names in presentation format) joined by spaces. */
export const HOST_CSV_COLUMNS: readonly string[] = [
  'clientIp',
  'firstSeen',
  'lastSeen',
  'blockedCount',
  'distinctDomains',
  'topDomains',
  'incidentId',
  'host_name',
  'instance_id',
];

function hostCsvLine(host: HostSummary): string {
  const fields = [
    csvField(host.clientIp),
    csvField(isoTime(host.firstSeenMs)),
    csvField(isoTime(host.lastSeenMs)),
    csvField(host.blockedCount),
    csvField(host.distinctDomains),
    csvField(host.topDomains.map((d) => `${presentName(d.domain)}:${d.count}`).join(' ')),
    csvField(host.incidentId),
    csvField(host.identity?.name ?? null),
    csvField(host.identity?.instanceId ?? null),
  ];
  return `${fields.join(',')}\r\n`;
}

export function hostCsvChunks(hosts: AsyncIterable<HostSummary>): AsyncIterable<string> {
  return chunked(`${HOST_CSV_COLUMNS.join(',')}\r\n`, hosts, hostCsvLine);
}

export function hostNdjsonChunks(hosts: AsyncIterable<HostSummary>): AsyncIterable<string> {
  return chunked('', hosts, (host) => `${JSON.stringify(hostView(host))}\n`);
}
