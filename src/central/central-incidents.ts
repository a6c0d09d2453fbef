/**
 * Incidents decided in the fleet's PostgreSQL: one per host across every instance while open or
 * acknowledged (the partial unique index central_incidents_active), folded in by the shipper in the
 * transaction that ships the host's events; its notification is claimed by exactly one instance
 * (UPDATE ... FOR UPDATE SKIP LOCKED on notified_ms); state changes (acknowledge, resolve) are rows
 * here, seen by every instance's API.
 */
import type pg from 'pg';
import { PoolsinkError } from '../errors.js';
import type { Severity } from '../incidents/incident-state.js';

/** Names an incident keeps at most (the first seen); the migration's comment says the same. */
export const MAX_INCIDENT_NAMES = 100;

/** The per-host totals of one shipped batch (only events newly inserted). */
export interface HostBatch {
  readonly clientIp: string;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly count: number;
  readonly identity: unknown;
  /** The highest severity of the batch's events (the lists' severities at this instance). */
  readonly severity: Severity;
  /** Distinct names of the batch, at most MAX_INCIDENT_NAMES. */
  readonly names: readonly string[];
}

/** The miner logins of one shipped batch for one host (only logins newly inserted). */
export interface HostLogins {
  readonly clientIp: string;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly count: number;
  readonly identity: unknown;
  /** Why the incident escalates (the first login's, loginReason()). */
  readonly reason: string;
}

export interface CentralIncident {
  readonly id: number;
  readonly clientIp: string;
  readonly state: 'open' | 'acknowledged' | 'resolved';
  readonly openedMs: number;
  readonly lastSeenMs: number;
  readonly attempts: number;
  readonly instances: readonly string[];
  readonly identity: unknown;
  readonly severity: Severity;
  /** Distinct names tried, first seen first (at most MAX_INCIDENT_NAMES). */
  readonly names: readonly string[];
  /** Miner logins at the honeypots of the fleet. */
  readonly logins: number;
  readonly escalatedMs: number | null;
  readonly escalationReason: string | null;
  readonly notifiedBy: string | null;
  readonly acknowledgedMs: number | null;
  readonly ackNote: string | null;
  readonly resolvedMs: number | null;
}

interface IncidentRow {
  id: string;
  client_ip: string;
  state: CentralIncident['state'];
  opened_ms: string;
  last_seen_ms: string;
  attempts: string;
  instances: string[];
  identity: unknown;
  severity: Severity;
  names: string[];
  logins: string;
  escalated_ms: string | null;
  escalation_reason: string | null;
  notified_by: string | null;
  acknowledged_ms: string | null;
  ack_note: string | null;
  resolved_ms: string | null;
}

export const INCIDENT_COLUMNS =
  'id, client_ip, state, opened_ms, last_seen_ms, attempts, instances, identity, severity, names, logins, escalated_ms, escalation_reason, notified_by, acknowledged_ms, ack_note, resolved_ms';

/** Adds $6 (this instance) to the incident's instances once. */
const JOIN_INSTANCE = `instances = CASE WHEN $6::text = ANY (central_incidents.instances) THEN central_incidents.instances
                   ELSE central_incidents.instances || $6::text END`;

function byClient(a: { readonly clientIp: string }, b: { readonly clientIp: string }): number {
  return a.clientIp < b.clientIp ? -1 : a.clientIp > b.clientIp ? 1 : 0;
}

function identityParam(identity: unknown): string | null {
  return identity === null || identity === undefined ? null : JSON.stringify(identity);
}

function optionalNumber(text: string | null): number | null {
  return text === null ? null : Number(text);
}

/** bigint columns arrive as strings (pg's default): ms times and counts fit a double. */
export function incidentOf(row: IncidentRow): CentralIncident {
  return {
    id: Number(row.id),
    clientIp: row.client_ip,
    state: row.state,
    openedMs: Number(row.opened_ms),
    lastSeenMs: Number(row.last_seen_ms),
    attempts: Number(row.attempts),
    instances: row.instances,
    identity: row.identity,
    severity: row.severity,
    names: row.names,
    logins: Number(row.logins),
    escalatedMs: optionalNumber(row.escalated_ms),
    escalationReason: row.escalation_reason,
    notifiedBy: row.notified_by,
    acknowledgedMs: optionalNumber(row.acknowledged_ms),
    ackNote: row.ack_note,
    resolvedMs: optionalNumber(row.resolved_ms),
  };
}

/** Opens or extends each host's fleet incident; hosts sorted so concurrent instances lock in one order. */
export async function foldIntoIncidents(
  client: pg.ClientBase,
  instance: string,
  hosts: readonly HostBatch[],
): Promise<void> {
  if (hosts.length === 0) return;
  const sorted = [...hosts].sort(byClient);
  await client.query(
    `INSERT INTO central_incidents (client_ip, state, opened_ms, last_seen_ms, attempts, instances, identity, severity, names)
SELECT ip, 'open', first_ms, last_ms, n, ARRAY[$6::text], ident, sev, ARRAY(SELECT jsonb_array_elements_text(nm))
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::jsonb[], $7::text[], $8::jsonb[])
  AS t(ip, first_ms, last_ms, n, ident, sev, nm)
ON CONFLICT (client_ip) WHERE state <> 'resolved' DO UPDATE SET
  last_seen_ms = GREATEST(central_incidents.last_seen_ms, EXCLUDED.last_seen_ms),
  attempts = central_incidents.attempts + EXCLUDED.attempts,
  ${JOIN_INSTANCE},
  identity = COALESCE(EXCLUDED.identity, central_incidents.identity),
  severity = poolsink_severity_max(central_incidents.severity, EXCLUDED.severity),
  names = ARRAY(SELECT name FROM unnest(central_incidents.names || EXCLUDED.names) WITH ORDINALITY AS u(name, i)
                GROUP BY name ORDER BY min(i) LIMIT ${MAX_INCIDENT_NAMES})`,
    [
      sorted.map((h) => h.clientIp),
      sorted.map((h) => h.firstMs),
      sorted.map((h) => h.lastMs),
      sorted.map((h) => h.count),
      sorted.map((h) => identityParam(h.identity)),
      instance,
      sorted.map((h) => h.severity),
      sorted.map((h) => JSON.stringify(h.names.slice(0, MAX_INCIDENT_NAMES))),
    ],
  );
}

/**
 * Miner logins raise each host's fleet incident (one opened if none is active) to critical; the
 * first login marks it escalated, and that incident.escalated is claimed once (claimEscalations).
 * Returns the incident id of each host.
 */
export async function foldLoginsIntoIncidents(
  client: pg.ClientBase,
  instance: string,
  hosts: readonly HostLogins[],
): Promise<Map<string, number>> {
  if (hosts.length === 0) return new Map();
  const sorted = [...hosts].sort(byClient);
  const { rows } = await client.query<{ id: string; client_ip: string }>(
    `INSERT INTO central_incidents (client_ip, state, opened_ms, last_seen_ms, attempts, instances, identity, severity,
  logins, escalated_ms, escalation_reason)
SELECT ip, 'open', first_ms, last_ms, 0, ARRAY[$6::text], ident, 'critical', n, first_ms, reason
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::jsonb[], $7::text[])
  AS t(ip, first_ms, last_ms, n, ident, reason)
ON CONFLICT (client_ip) WHERE state <> 'resolved' DO UPDATE SET
  last_seen_ms = GREATEST(central_incidents.last_seen_ms, EXCLUDED.last_seen_ms),
  ${JOIN_INSTANCE},
  identity = COALESCE(EXCLUDED.identity, central_incidents.identity),
  severity = 'critical',
  logins = central_incidents.logins + EXCLUDED.logins,
  escalated_ms = COALESCE(central_incidents.escalated_ms, EXCLUDED.escalated_ms),
  escalation_reason = COALESCE(central_incidents.escalation_reason, EXCLUDED.escalation_reason)
RETURNING id, client_ip`,
    [
      sorted.map((h) => h.clientIp),
      sorted.map((h) => h.firstMs),
      sorted.map((h) => h.lastMs),
      sorted.map((h) => h.count),
      sorted.map((h) => identityParam(h.identity)),
      instance,
      sorted.map((h) => h.reason),
    ],
  );
  return new Map(rows.map((row) => [row.client_ip, Number(row.id)]));
}

/** Claims escalated incidents whose incident.escalated nobody has sent: each to exactly one caller. */
export async function claimEscalations(
  client: pg.ClientBase,
  instance: string,
  nowMs: number,
): Promise<CentralIncident[]> {
  const { rows } = await client.query<IncidentRow>(
    `UPDATE central_incidents SET escalation_notified_ms = $2, escalation_notified_by = $1
WHERE id IN (SELECT id FROM central_incidents
             WHERE escalated_ms IS NOT NULL AND escalation_notified_ms IS NULL AND state <> 'resolved'
             ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING ${INCIDENT_COLUMNS}`,
    [instance, nowMs],
  );
  return rows.map(incidentOf);
}

/**
 * Claims open incidents nobody has notified yet: each row is returned to exactly one caller across
 * the fleet (its row lock, SKIP LOCKED for the others, then notified_ms set).
 */
export async function claimNotifications(
  client: pg.ClientBase,
  instance: string,
  nowMs: number,
): Promise<CentralIncident[]> {
  const { rows } = await client.query<IncidentRow>(
    `UPDATE central_incidents SET notified_ms = $2, notified_by = $1
WHERE id IN (SELECT id FROM central_incidents WHERE notified_ms IS NULL AND state = 'open'
             ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING ${INCIDENT_COLUMNS}`,
    [instance, nowMs],
  );
  return rows.map(incidentOf);
}

/** Resolves incidents quiet for longer than autoResolveMs. */
export async function autoResolve(client: pg.ClientBase, nowMs: number, autoResolveMs: number): Promise<number> {
  const result = await client.query(
    `UPDATE central_incidents SET state = 'resolved', resolved_ms = $1, resolved_by = 'auto'
WHERE state <> 'resolved' AND last_seen_ms < $2`,
    [nowMs, nowMs - autoResolveMs],
  );
  return result.rowCount ?? 0;
}

export interface IncidentChangeRequest {
  readonly id: number;
  readonly state: 'acknowledged' | 'resolved';
  readonly note?: string;
  readonly actor: string;
  readonly atMs: number;
}

/** Acknowledge or resolve a fleet incident; ERR_NOT_FOUND, ERR_CONFLICT for a resolved one. */
export async function changeCentralIncident(
  client: pg.ClientBase,
  change: IncidentChangeRequest,
): Promise<CentralIncident> {
  const { rows } = await client.query<IncidentRow>(
    `UPDATE central_incidents SET state = $2,
  acknowledged_ms = CASE WHEN $2 = 'acknowledged' THEN $3 ELSE acknowledged_ms END,
  ack_note = CASE WHEN $2 = 'acknowledged' THEN $4 ELSE ack_note END,
  resolved_ms = CASE WHEN $2 = 'resolved' THEN $3 ELSE resolved_ms END,
  resolved_by = CASE WHEN $2 = 'resolved' THEN $5 ELSE resolved_by END
WHERE id = $1 AND state <> 'resolved'
RETURNING ${INCIDENT_COLUMNS}`,
    [change.id, change.state, change.atMs, change.note ?? null, change.actor],
  );
  const row = rows[0];
  if (row !== undefined) return incidentOf(row);
  const exists = await client.query('SELECT 1 FROM central_incidents WHERE id = $1', [change.id]);
  if (exists.rowCount === 0) throw new PoolsinkError('ERR_NOT_FOUND', `no fleet incident ${change.id}`);
  throw new PoolsinkError('ERR_CONFLICT', `fleet incident ${change.id} is resolved`);
}
