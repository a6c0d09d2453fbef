/**
 * The tracker's writes of one incident, inside the caller's transaction: opening it, writing what
 * a touch added (names with the per-incident cap, hours, the incident row, escalation), resolving
 * it, and the notifications that go with each into the outbox.
 */
import { PoolsinkError } from '../errors.js';
import type { IdentityLookup } from '../inventory/host-identity.js';
import type { NotificationOutbox, NotificationType } from '../notify/notification.js';
import type { StoreConnection } from '../store/database.js';
import type { Detection } from './detection-log.js';
import { PAYLOAD_TOP_NAMES, incidentPayload, type IncidentPayload } from './incident-payload.js';
import { escalationReasons, type Severity } from './incident-state.js';
import type { ActiveIncident, IncidentWrites } from './incident-store.js';
import type { Touch } from './incident-touch.js';
import { writeIncidentNames } from './incident-names.js';

export interface IncidentRowsOptions {
  readonly connection: StoreConnection;
  readonly statements: () => IncidentWrites;
  readonly outbox: NotificationOutbox;
  readonly identityFor: IdentityLookup | undefined;
  readonly clock: () => number;
  /** Distinct names kept per incident; the names after them are counted in one OTHER_NAMES row. */
  readonly maxNames: number;
}

export interface IncidentRows {
  /** Inserts a new open incident for `clientIp` (its history says opened at `detectedMs`). */
  open(clientIp: string, severity: Severity, atMs: number, detectedMs: number): ActiveIncident;
  /**
   * Writes what `touch` added; new hosts and names go to `detected`. `retroDetectedMs`: while a
   * retro-hunt records, the time its incidents are found.
   */
  write(touch: Touch, detected: Detection[], retroDetectedMs: number | undefined): void;
  /** Writes the incident row's counts, severity, identity and escalation level. */
  save(incident: ActiveIncident): void;
  resolve(incident: ActiveIncident, atMs: number, resolvedBy: 'operator' | 'auto', note: string | null): void;
  notify(type: NotificationType, atMs: number, payload: IncidentPayload): void;
  /** The incident's notification payload, with its top names. */
  payloadOf(incident: ActiveIncident, extra?: Parameters<typeof incidentPayload>[2]): IncidentPayload;
}

export function createIncidentRows(options: IncidentRowsOptions): IncidentRows {
  const { connection, statements, outbox, identityFor, clock, maxNames } = options;

  function identityJson(clientIp: string): string | null {
    const identity = identityFor?.(clientIp);
    return identity === undefined ? null : JSON.stringify(identity);
  }

  function notify(type: NotificationType, atMs: number, payload: IncidentPayload): void {
    outbox.enqueue(connection.db, { type, atMs, payload });
  }

  function payloadOf(incident: ActiveIncident, extra: Parameters<typeof incidentPayload>[2] = {}): IncidentPayload {
    return incidentPayload(incident, statements().topNames.all(incident.id, PAYLOAD_TOP_NAMES), extra);
  }

  function save(incident: ActiveIncident): void {
    statements().update.run(
      incident.severity,
      incident.lastSeenMs,
      incident.attempts,
      incident.names,
      incident.protocols,
      incident.identityJson,
      incident.escalationLevel,
      incident.id,
    );
  }

  function open(clientIp: string, severity: Severity, atMs: number, detectedMs: number): ActiveIncident {
    const s = statements();
    const previousId = s.lastOfClient.get(clientIp)?.id ?? null;
    const identity = identityJson(clientIp);
    const row = s.open.get(clientIp, severity, atMs, atMs, '', previousId, identity);
    if (row === undefined) throw new PoolsinkError('ERR_STORE_WRITE', 'opening an incident returned no id');
    s.history.run(row.id, detectedMs, 'opened', 'open', 'poolsink', null);
    return {
      id: row.id,
      clientIp,
      state: 'open',
      severity,
      openedMs: atMs,
      lastSeenMs: atMs,
      attempts: 0,
      names: 0,
      protocols: '',
      previousId,
      identityJson: identity,
      escalationLevel: 0,
      detectedMs,
    };
  }

  /** Writes the touch's names (with the cap) and hours; returns how many names are new. */
  function writeNames(touch: Touch, detected: Detection[]): number {
    const s = statements();
    const { incident } = touch;
    const added = writeIncidentNames(s, incident.id, incident.names, touch.names, maxNames);
    // An opened incident is one line (its first name); an open one, a line per new name.
    for (const qname of touch.opened ? added.slice(0, 1) : added) {
      const kind = touch.opened ? 'host' : 'name';
      const list = touch.names.get(qname)?.list ?? '';
      detected.push({ kind, clientIp: incident.clientIp, qname, list, incidentId: incident.id });
    }
    for (const [hour, n] of touch.hours) s.hour.run(incident.id, hour, n);
    return added.length;
  }

  function write(touch: Touch, detected: Detection[], retroDetectedMs: number | undefined): void {
    const { incident } = touch;
    const newNames = writeNames(touch, detected);
    const before = { attempts: incident.attempts, names: incident.names };
    incident.attempts += touch.attempts;
    incident.names += newNames;
    incident.lastSeenMs = touch.lastMs;
    incident.severity = touch.severity;
    incident.protocols = [...touch.protocols].sort().join(',');
    const identity = identityFor === undefined ? incident.identityJson : identityJson(incident.clientIp);
    if (identity !== null) incident.identityJson = identity;
    const reasons = touch.opened ? [] : escalationReasons(before, incident);
    if (touch.retro && !touch.opened) reasons.push('retro-hunt: it resolved names a list gained later');
    if (reasons.length > 0) incident.escalationLevel += 1;
    save(incident);
    const s = statements();
    const retro = touch.retro ? { retro: true } : {};
    // Found now, whatever the times of its queries: auto-resolve counts from here.
    const detectedMs = touch.retro ? (retroDetectedMs ?? clock()) : touch.lastMs;
    if (touch.retro) {
      s.markRetro.run(incident.id);
      if (detectedMs > incident.detectedMs) incident.detectedMs = detectedMs;
    }
    if (touch.opened) notify('incident.opened', incident.openedMs, payloadOf(incident, retro));
    else if (reasons.length > 0) {
      s.history.run(incident.id, detectedMs, 'escalated', incident.state, 'poolsink', reasons.join('; '));
      notify('incident.escalated', touch.lastMs, payloadOf(incident, { reasons, ...retro }));
    }
  }

  function resolve(incident: ActiveIncident, atMs: number, resolvedBy: 'operator' | 'auto', note: string | null): void {
    const s = statements();
    s.resolve.run(atMs, note, resolvedBy, incident.id);
    s.history.run(incident.id, atMs, 'resolved', 'resolved', resolvedBy, note);
    // The payload says what the incident now is: resolved (the cached row still holds its last open state).
    const names = s.topNames.all(incident.id, PAYLOAD_TOP_NAMES);
    const extra = { resolvedBy, ...(note === null ? {} : { note }) };
    notify('incident.resolved', atMs, incidentPayload({ ...incident, state: 'resolved' }, names, extra));
  }

  return { open, write, save, resolve, notify, payloadOf };
}
