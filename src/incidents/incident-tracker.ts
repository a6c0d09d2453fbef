/**
 * Incidents derived from block events, in the writer thread. The event writer calls the tracker
 * inside each batch's transaction (EventBatchHook): before the events are inserted it finds each
 * event's incident (opening one for a host with none open or acknowledged), sums the batch per
 * incident in memory, and then writes one UPDATE per incident and one upsert per (incident, name)
 * and (incident, hour); notifications go into the outbox in the same transaction. Open incidents
 * are cached per client (loaded at start); a transaction that fails reloads the cache.
 *
 * Tallies of events dropped before the writer (writer-protocol 'dropped') count the same way with
 * the next batch. sweep() resolves incidents quiet for autoResolveHours (counted from the last
 * attempt, or from when a retro-hunt found it if later); change() applies an operator's acknowledge
 * or resolve.
 */
import type { Logger } from 'pino';
import type { BlockAction, BlockEvent } from '../dns/block-event.js';
import { PoolsinkError } from '../errors.js';
import type { IdentityLookup } from '../inventory/host-identity.js';
import { NO_OUTBOX, type NotificationOutbox, type NotificationType } from '../notify/notification.js';
import type { EventBatchHook, EventTally } from '../store/batch-writer.js';
import { preparedFor, type StoreConnection } from '../store/database.js';
import { hourOf } from '../store/schema.js';
import { PAYLOAD_TOP_NAMES, incidentPayload, type IncidentPayload } from './incident-payload.js';
import {
  DEFAULT_AUTO_RESOLVE_HOURS,
  autoResolveDue,
  checkTransition,
  escalationReasons,
  higherSeverity,
  severityOf,
  type IncidentChange,
  type Severity,
} from './incident-state.js';
import { activeIncident, prepareIncidentWrites, type ActiveIncident } from './incident-store.js';
import { createDetectionLog, type Detection } from './detection-log.js';
import type { RetroClient } from '../store/history-protocol.js';
import { MAX_NAMES_PER_HOST } from '../store/rollup-writes.js';
import { writeIncidentNames } from './incident-names.js';

export interface IncidentTrackerOptions {
  readonly connection: StoreConnection;
  readonly log: Logger;
  /** Severity of each list that sets one (blocklists[].severity); others: by action. */
  readonly severities?: Readonly<Record<string, Severity>>;
  readonly autoResolveHours?: number;
  readonly outbox?: NotificationOutbox;
  readonly identityFor?: IdentityLookup;
  readonly clock?: () => number;
  /**
   * Distinct names kept per incident; the names after them are counted in one OTHER_NAMES row
   * (a flood of random names is one row an event otherwise). Default MAX_NAMES_PER_HOST.
   */
  readonly maxNames?: number;
}

export interface IncidentTracker extends EventBatchHook {
  /** Counts tallies of dropped events into incidents with the next batch. */
  addTallies(tallies: readonly EventTally[]): void;
  /** Resolves incidents without attempts for autoResolveHours; returns how many. */
  sweep(): number;
  /** An operator's acknowledge or resolve: ERR_NOT_FOUND, or ERR_CONFLICT for an invalid transition. */
  change(change: IncidentChange): void;
  /**
   * Something worse than a lookup from clientIp (a miner login at the honeypot): its incident (one
   * opened if none is active) goes to critical and incident.escalated is sent with `reason`. Runs
   * in the caller's transaction (call rolledBack() if it fails); returns the incident's id.
   */
  escalate(clientIp: string, atMs: number, reason: string): number;
  /**
   * Retro-hunt findings (the query history's clients that resolved names `list` gained): each
   * client's incident is opened at its first query (or joined), marked retro, and notified
   * (incident.opened, or incident.escalated for one already open), in one transaction. Returns the
   * incidents touched.
   */
  recordRetro(clients: readonly RetroClient[], list: string): number;
  /** Open or acknowledged incidents held in memory. */
  readonly active: number;
}

/** What one batch adds to one incident. */
interface Touch {
  readonly incident: ActiveIncident;
  readonly opened: boolean;
  attempts: number;
  lastMs: number;
  severity: Severity;
  protocols: Set<string>;
  readonly names: Map<string, { list: string; count: number; firstMs: number; lastMs: number }>;
  readonly hours: Map<number, number>;
  /** Found by a retro-hunt (recordRetro). */
  retro: boolean;
}

export function createIncidentTracker(options: IncidentTrackerOptions): IncidentTracker {
  const { connection, log } = options;
  const severities = new Map(Object.entries(options.severities ?? {}));
  const autoResolveHours = options.autoResolveHours ?? DEFAULT_AUTO_RESOLVE_HOURS;
  const outbox = options.outbox ?? NO_OUTBOX;
  const identityFor = options.identityFor;
  const clock = options.clock ?? Date.now;
  const maxNames = options.maxNames ?? MAX_NAMES_PER_HOST;
  const statements = preparedFor(connection, prepareIncidentWrites);
  let byClient = load();
  let pendingTallies: EventTally[] = [];
  /** New hosts and names of the transaction now running: logged once it commits. */
  let detected: Detection[] = [];
  const detectionLog = createDetectionLog({ log, clock });
  /** Tallies handed to the transaction now running: cleared once it commits. */
  let inFlightTallies = 0;
  /** While recordRetro runs: now, the time its incidents are opened or escalated (their history's time). */
  let retroDetectedMs: number | undefined;

  function load(): Map<string, ActiveIncident> {
    const map = new Map<string, ActiveIncident>();
    for (const row of statements().active.all()) map.set(row.client_ip, activeIncident(row));
    return map;
  }

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

  function touchOf(touches: Map<number, Touch>, clientIp: string, severity: Severity, atMs: number): Touch {
    let incident = byClient.get(clientIp);
    let opened = false;
    if (incident === undefined) {
      const s = statements();
      const previousId = s.lastOfClient.get(clientIp)?.id ?? null;
      const identity = identityJson(clientIp);
      const row = s.open.get(clientIp, severity, atMs, atMs, '', previousId, identity);
      if (row === undefined) throw new PoolsinkError('ERR_STORE_WRITE', 'opening an incident returned no id');
      incident = {
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
        detectedMs: retroDetectedMs ?? atMs,
      };
      s.history.run(row.id, retroDetectedMs ?? atMs, 'opened', 'open', 'poolsink', null);
      byClient.set(clientIp, incident);
      opened = true;
    }
    let touch = touches.get(incident.id);
    if (touch === undefined) {
      touch = {
        incident,
        opened,
        attempts: 0,
        lastMs: incident.lastSeenMs,
        severity: incident.severity,
        protocols: new Set(incident.protocols === '' ? [] : incident.protocols.split(',')),
        names: new Map(),
        hours: new Map(),
        retro: false,
      };
      touches.set(incident.id, touch);
    }
    return touch;
  }

  function count(
    touches: Map<number, Touch>,
    clientIp: string,
    qname: string,
    list: string,
    action: BlockAction,
    n: number,
    firstMs: number,
    lastMs: number,
  ): number {
    const severity = severityOf(severities.get(list), action);
    const touch = touchOf(touches, clientIp, severity, firstMs);
    touch.attempts += n;
    if (lastMs > touch.lastMs) touch.lastMs = lastMs;
    touch.severity = higherSeverity(touch.severity, severity);
    const name = touch.names.get(qname);
    if (name === undefined) touch.names.set(qname, { list, count: n, firstMs, lastMs });
    else {
      name.count += n;
      name.list = list;
      if (firstMs < name.firstMs) name.firstMs = firstMs;
      if (lastMs > name.lastMs) name.lastMs = lastMs;
    }
    const hour = hourOf(lastMs);
    touch.hours.set(hour, (touch.hours.get(hour) ?? 0) + n);
    return touch.incident.id;
  }

  function write(touch: Touch): void {
    const s = statements();
    const { incident } = touch;
    const added = writeIncidentNames(s, incident.id, incident.names, touch.names, maxNames);
    const newNames = added.length;
    // An opened incident is one line (its first name); an open one, a line per new name.
    for (const qname of touch.opened ? added.slice(0, 1) : added) {
      const kind = touch.opened ? 'host' : 'name';
      const list = touch.names.get(qname)?.list ?? '';
      detected.push({ kind, clientIp: incident.clientIp, qname, list, incidentId: incident.id });
    }
    for (const [hour, n] of touch.hours) s.hour.run(incident.id, hour, n);
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
    s.update.run(
      incident.severity,
      incident.lastSeenMs,
      incident.attempts,
      incident.names,
      incident.protocols,
      incident.identityJson,
      incident.escalationLevel,
      incident.id,
    );
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
    byClient.delete(incident.clientIp);
    // The payload says what the incident now is: resolved (the cached row still holds its last open state).
    const names = s.topNames.all(incident.id, PAYLOAD_TOP_NAMES);
    const extra = { resolvedBy, ...(note === null ? {} : { note }) };
    notify('incident.resolved', atMs, incidentPayload({ ...incident, state: 'resolved' }, names, extra));
  }

  /**
   * A retro finding the incident already holds up to its last time (an earlier hunt recorded it, or
   * blocked queries came later) adds nothing: repeated hunts do not count the same history again.
   */
  function alreadyCounted(incidentId: number, qname: string, lastMs: number): boolean {
    const row = statements().nameLastMs.get(incidentId, qname);
    return row !== undefined && row.last_ms >= lastMs;
  }

  /** Runs `work` in a transaction of its own; a failure reloads the cache and is rethrown. */
  function inTransaction<T>(work: () => T): T {
    try {
      return connection.db.transaction(work).immediate();
    } catch (err: unknown) {
      byClient = load();
      throw err;
    }
  }

  return {
    beforeInsert(events: readonly BlockEvent[], start: number, end: number): (number | null)[] {
      const touches = new Map<number, Touch>();
      const ids: (number | null)[] = new Array<number | null>(end - start);
      for (let i = start; i < end; i += 1) {
        const event = events[i];
        if (event === undefined) continue;
        const { clientIp, qname, list, action, timeMs } = event;
        ids[i - start] = count(
          touches,
          clientIp,
          qname,
          list,
          action,
          event.count ?? 1,
          timeMs,
          event.lastMs ?? timeMs,
        );
        // Only events carry a protocol (tallies do not).
        touches.get(ids[i - start] ?? -1)?.protocols.add(event.protocol);
      }
      inFlightTallies = pendingTallies.length;
      for (let i = 0; i < inFlightTallies; i += 1) {
        const t = pendingTallies[i];
        if (t !== undefined && Number.isInteger(t.count) && t.count > 0)
          count(touches, t.clientIp, t.qname, t.list, t.action, t.count, t.firstMs, t.lastMs);
      }
      for (const touch of touches.values()) write(touch);
      return ids;
    },
    committed(): void {
      if (inFlightTallies > 0) pendingTallies = pendingTallies.slice(inFlightTallies);
      inFlightTallies = 0;
      const lines = detected;
      detected = [];
      detectionLog.write(lines);
    },
    rolledBack(): void {
      inFlightTallies = 0;
      detected = [];
      byClient = load();
    },
    addTallies(tallies) {
      for (const tally of tallies) pendingTallies.push(tally);
    },
    sweep(): number {
      detectionLog.flush();
      const now = clock();
      const due = [...byClient.values()].filter((i) =>
        autoResolveDue(Math.max(i.lastSeenMs, i.detectedMs), now, autoResolveHours),
      );
      if (due.length === 0) return 0;
      inTransaction(() => {
        for (const incident of due) resolve(incident, now, 'auto', null);
      });
      log.info({ resolved: due.length, autoResolveHours }, 'incidents resolved after no attempts');
      return due.length;
    },
    change(change: IncidentChange): void {
      const { incidentId, to, note } = change;
      inTransaction(() => {
        const s = statements();
        const row = s.byId.get(incidentId);
        if (row === undefined) throw new PoolsinkError('ERR_NOT_FOUND', `no incident ${incidentId}`);
        const from = row.state === 'acknowledged' ? 'acknowledged' : row.state === 'open' ? 'open' : 'resolved';
        checkTransition(incidentId, from, to);
        const now = clock();
        const incident = byClient.get(row.client_ip) ?? activeIncident(row);
        if (to === 'resolved') {
          resolve(incident, now, 'operator', note);
          return;
        }
        s.acknowledge.run(now, note, incidentId);
        s.history.run(incidentId, now, 'acknowledged', 'acknowledged', 'operator', note);
        incident.state = 'acknowledged';
      });
    },
    escalate(clientIp: string, atMs: number, reason: string): number {
      const touch = touchOf(new Map(), clientIp, 'critical', atMs);
      const { incident } = touch;
      if (touch.opened) notify('incident.opened', atMs, payloadOf(incident));
      incident.severity = 'critical';
      if (atMs > incident.lastSeenMs) incident.lastSeenMs = atMs;
      incident.escalationLevel += 1;
      const s = statements();
      s.update.run(
        incident.severity,
        incident.lastSeenMs,
        incident.attempts,
        incident.names,
        incident.protocols,
        incident.identityJson,
        incident.escalationLevel,
        incident.id,
      );
      s.history.run(incident.id, atMs, 'escalated', incident.state, 'poolsink', reason);
      notify('incident.escalated', atMs, payloadOf(incident, { reasons: [reason] }));
      return incident.id;
    },
    recordRetro(clients, list) {
      if (clients.length === 0) return 0;
      let touched = 0;
      retroDetectedMs = clock();
      try {
        touched = inTransaction(() => {
          const touches = new Map<number, Touch>();
          /** Incidents that already held every finding: joined, with nothing to add. */
          const joined = new Set<number>();
          for (const client of clients) {
            const active = byClient.get(client.clientIp);
            for (const name of client.names) {
              if (!Number.isInteger(name.count) || name.count <= 0) continue;
              if (active !== undefined && alreadyCounted(active.id, name.qname, name.lastMs)) {
                joined.add(active.id);
                continue;
              }
              const id = count(
                touches,
                client.clientIp,
                name.qname,
                list,
                'blocked',
                name.count,
                name.firstMs,
                name.lastMs,
              );
              const touch = touches.get(id);
              if (touch !== undefined) touch.retro = true;
            }
          }
          for (const touch of touches.values()) write(touch);
          for (const id of touches.keys()) joined.add(id);
          return joined.size;
        });
      } catch (err: unknown) {
        detected = [];
        throw err;
      } finally {
        retroDetectedMs = undefined;
      }
      const lines = detected;
      detected = [];
      detectionLog.write(lines);
      return touched;
    },
    get active() {
      return byClient.size;
    },
  };
}
