/**
 * What one batch (or one retro-hunt, or one escalation) adds to one incident, summed in memory
 * before anything is written: attempts, the highest severity, protocols, and counts per name and
 * per hour.
 */
import { hourOf } from '../store/schema.js';
import { higherSeverity, type Severity } from './incident-state.js';
import type { ActiveIncident } from './incident-store.js';

export interface TouchedName {
  list: string;
  count: number;
  firstMs: number;
  lastMs: number;
}

export interface Touch {
  readonly incident: ActiveIncident;
  readonly opened: boolean;
  attempts: number;
  lastMs: number;
  severity: Severity;
  protocols: Set<string>;
  readonly names: Map<string, TouchedName>;
  readonly hours: Map<number, number>;
  /** Found by a retro-hunt (recordRetro). */
  retro: boolean;
}

/** Nothing added yet; `opened` when the incident was opened for this touch. */
export function newTouch(incident: ActiveIncident, opened: boolean): Touch {
  return {
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
}

/** Adds `n` lookups of `qname` (matched by `list`) between firstMs and lastMs. */
export function addToTouch(
  touch: Touch,
  qname: string,
  list: string,
  severity: Severity,
  n: number,
  firstMs: number,
  lastMs: number,
): void {
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
}
