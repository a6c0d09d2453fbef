/**
 * A CIDR client filter as a set of exact addresses: `events.client_ip` is text, so no index range
 * expresses 10.0.3.0/24 (and none at all an IPv6 prefix). The hosts table holds one row per client
 * address ever recorded (kept when events are pruned) and is small next to the events, so the
 * matching addresses are read from it (narrowed by a dotted prefix for IPv4), matched in JS, and
 * the events searched with `clients` (one events_client_time scan per client, merged).
 */
import { parseCidr } from '../net/address.js';
import { createCidrMatcher, dottedPrefixOf } from '../net/cidr-match.js';
import { PoolsinkError } from '../errors.js';
import type { SqliteDatabase } from './database.js';
import type { ClientSet } from './types.js';

/** Clients one CIDR filter may stand for at most: bounds the merge (one index seek each). */
export const MAX_FILTER_CLIENTS = 10_000;

export function prepareClientSetStatements(db: SqliteDatabase) {
  return {
    all: db.prepare<[], { client_ip: string }>('SELECT client_ip FROM hosts'),
    range: db.prepare<[string, string], { client_ip: string }>(
      'SELECT client_ip FROM hosts WHERE client_ip >= ? AND client_ip < ?',
    ),
  };
}

export type ClientSetStatements = ReturnType<typeof prepareClientSetStatements>;

/** The known clients inside `cidrText`, stopping at `max` + 1. */
export function clientsIn(statements: ClientSetStatements, cidrText: string, max: number): ClientSet {
  const cidr = parseCidr(cidrText);
  if (cidr === undefined) throw new PoolsinkError('ERR_INVALID', `client: ${JSON.stringify(cidrText)} is not a CIDR`);
  const matches = createCidrMatcher(cidr);
  const prefix = dottedPrefixOf(cidr);
  // "10.0.3." to "10.0.3/": '/' follows '.' in code order.
  const rows = prefix === '' ? statements.all.iterate() : statements.range.iterate(prefix, `${prefix.slice(0, -1)}/`);
  const clients: string[] = [];
  for (const { client_ip: address } of rows) {
    if (!matches(address)) continue;
    if (clients.length === max) {
      rows.return?.();
      return { kind: 'too-many', max };
    }
    clients.push(address);
  }
  return { kind: 'clients', clients };
}
