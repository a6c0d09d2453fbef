/**
 * The one rule every /api/v1/fleet read follows: the fleet-wide rows from PostgreSQL, marked
 * `source: "fleet"`; when PostgreSQL cannot be reached, this instance's own rows, marked
 * `source: "local"` (none when another instance was asked for: its rows are only in PostgreSQL),
 * with `fallback`: why (`unreachable`, or `timeout` when it did not answer within
 * central.postgres.readTimeoutMs) and the reason's text. Any other failure is not a fallback: it
 * reaches the error catalog.
 */
import { isCentralTimeout, isCentralUnreachable } from '../central/central-db.js';
import { errorMessage } from '../errors.js';
import type { EventCursor } from '../store/types.js';
import { encodeCursor } from './params.js';
import { json, type Reply } from './route-types.js';

/** One read's rows (already in their API view), and the next page's cursor (encoded; the reply's null on the last page). */
export interface FleetRows {
  readonly rows: readonly unknown[];
  readonly nextCursor?: string | undefined;
}

export interface FleetOrLocalRead {
  /** This instance's name (instance.name): the reply's `instance`. */
  readonly self: string;
  /** The `instance` filter, if any. */
  readonly instance: string | undefined;
  /** The key of the rows in the reply: `events`, `hosts`, `logins`. */
  readonly key: string;
  /** The fleet's rows, given the `instance` filter as a filter field (absent: every instance). */
  readonly fleet: (only: { readonly instance?: string }) => Promise<FleetRows>;
  /** This instance's rows. */
  readonly local: () => Promise<FleetRows>;
}

/** An events or logins page's next cursor as the reply carries it. */
export function cursorText(cursor: EventCursor | undefined): string | undefined {
  return cursor === undefined ? undefined : encodeCursor(cursor);
}

/** Why a reply is the local view. */
export interface FleetFallback {
  readonly kind: 'unreachable' | 'timeout';
  /** The failure's message (no password or URL in it). */
  readonly reason: string;
}

function reply(read: FleetOrLocalRead, source: 'fleet' | 'local', rows: FleetRows, fallback?: FleetFallback): Reply {
  return json(200, {
    source,
    ...(fallback !== undefined ? { fallback } : {}),
    instance: read.self,
    [read.key]: rows.rows,
    nextCursor: rows.nextCursor ?? null,
  });
}

export async function fleetOrLocal(read: FleetOrLocalRead): Promise<Reply> {
  let fallback: FleetFallback;
  try {
    return reply(read, 'fleet', await read.fleet(read.instance !== undefined ? { instance: read.instance } : {}));
  } catch (err: unknown) {
    if (!isCentralUnreachable(err)) throw err;
    fallback = {
      kind: isCentralTimeout(err) ? 'timeout' : 'unreachable',
      reason: err instanceof Error ? err.message : errorMessage(err),
    };
  }
  if (read.instance !== undefined && read.instance !== read.self) return reply(read, 'local', { rows: [] }, fallback);
  return reply(read, 'local', await read.local(), fallback);
}
