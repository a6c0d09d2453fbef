/**
 * The keyset cursor of /api/v1/fleet/hosts pages: base64url JSON `[lastSeenMs, clientIp, instance]`
 * (a host is one row per instance that saw it). The local fallback pages by the first two, as
 * /api/v1/hosts does.
 */
import type { TUnsafe } from '@sinclair/typebox';
import type { FleetHostCursor } from '../central/fleet-queries.js';
import { parseClientIp } from './params.js';
import { invalid, parsedParam } from './query.js';

const MAX_CURSOR_LENGTH = 300;
const NOT_A_CURSOR = 'is not a cursor returned by this API';
/** instance.name's rule (config): what a cursor's instance may be. */
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function encodeFleetHostCursor(cursor: FleetHostCursor): string {
  return Buffer.from(JSON.stringify([cursor.lastSeenMs, cursor.clientIp, cursor.instance]), 'utf8').toString(
    'base64url',
  );
}

export function parseFleetHostCursor(param: string, value: string): FleetHostCursor {
  if (value.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value)) throw invalid(param, NOT_A_CURSOR);
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw invalid(param, NOT_A_CURSOR); // not JSON: not one of ours
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw invalid(param, NOT_A_CURSOR);
  const [lastSeenMs, clientIp, instance]: unknown[] = decoded;
  if (
    typeof lastSeenMs !== 'number' ||
    !Number.isSafeInteger(lastSeenMs) ||
    lastSeenMs < 0 ||
    typeof clientIp !== 'string' ||
    typeof instance !== 'string' ||
    !INSTANCE_NAME.test(instance)
  )
    throw invalid(param, NOT_A_CURSOR);
  return { lastSeenMs, clientIp: parseClientIp(param, clientIp), instance };
}

export function fleetHostCursorParam(description: string): TUnsafe<FleetHostCursor> {
  return parsedParam(parseFleetHostCursor, { description, maxLength: MAX_CURSOR_LENGTH, pattern: '^[A-Za-z0-9_-]+$' });
}
