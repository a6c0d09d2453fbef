/**
 * The keyset cursor of /api/v1/fleet/hosts pages: base64url JSON `[lastSeenMs, clientIp, instance]`
 * (a host is one row per instance that saw it). The local fallback pages by the first two, as
 * /api/v1/hosts does.
 */
import type { TUnsafe } from '@sinclair/typebox';
import type { FleetHostCursor } from '../central/fleet-queries.js';
import { INSTANCE_NAME_PATTERN } from '../config/central-schema.js';
import { decodeArrayCursor, isCursorTime } from './host-views.js';
import { parseClientIp } from './params.js';
import { invalid, parsedParam } from './query.js';

const MAX_CURSOR_LENGTH = 300;
/** instance.name's rule (config): what a cursor's instance may be. */
const INSTANCE_NAME = new RegExp(INSTANCE_NAME_PATTERN);

export function encodeFleetHostCursor(cursor: FleetHostCursor): string {
  return Buffer.from(JSON.stringify([cursor.lastSeenMs, cursor.clientIp, cursor.instance]), 'utf8').toString(
    'base64url',
  );
}

export function parseFleetHostCursor(param: string, value: string): FleetHostCursor {
  const [lastSeenMs, clientIp, instance] = decodeArrayCursor(param, value, 3, MAX_CURSOR_LENGTH);
  if (
    !isCursorTime(lastSeenMs) ||
    typeof clientIp !== 'string' ||
    typeof instance !== 'string' ||
    !INSTANCE_NAME.test(instance)
  )
    throw invalid(param, 'is not a cursor returned by this API');
  return { lastSeenMs, clientIp: parseClientIp(param, clientIp), instance };
}

export function fleetHostCursorParam(description: string): TUnsafe<FleetHostCursor> {
  return parsedParam(parseFleetHostCursor, { description, maxLength: MAX_CURSOR_LENGTH, pattern: '^[A-Za-z0-9_-]+$' });
}
