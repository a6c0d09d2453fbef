/**
 * The incident state machine and its rules, pure: states and their transitions, severities and
 * their order, and the escalation steps. The writer thread (incident-tracker.ts) applies them; the
 * API and CLI only read their names.
 */
import type { BlockAction } from '../dns/block-event.js';
import { PoolsinkError } from '../errors.js';

export const INCIDENT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Who changed an incident's state. */
export type IncidentActor = 'operator' | 'auto' | 'poolsink';

/** An operator's change: acknowledge or resolve, with a note. */
export interface IncidentChange {
  readonly incidentId: number;
  readonly to: 'acknowledged' | 'resolved';
  readonly note: string;
}

export const DEFAULT_AUTO_RESOLVE_HOURS = 72;
/** The longest note an operator may attach to a change. */
export const MAX_NOTE_LENGTH = 1000;

export function isSeverity(text: string): text is Severity {
  return SEVERITIES.some((s) => s === text);
}

export function isIncidentState(text: string): text is IncidentState {
  return INCIDENT_STATES.some((s) => s === text);
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function higherSeverity(a: Severity, b: Severity): Severity {
  return severityRank(b) > severityRank(a) ? b : a;
}

/** A list's severity: its configured one, else high for a blocking list and medium for an alerting one. */
export function severityOf(configured: Severity | undefined, action: BlockAction): Severity {
  return configured ?? (action === 'alerted' ? 'medium' : 'high');
}

/** Whether an incident in `from` may move to `to`; an ERR_CONFLICT naming both when not. */
export function checkTransition(incidentId: number, from: IncidentState, to: IncidentChange['to']): void {
  const allowed = from === 'open' || (from === 'acknowledged' && to === 'resolved');
  if (!allowed) throw new PoolsinkError('ERR_CONFLICT', `incident ${incidentId} is ${from}; it cannot become ${to}`);
}

/** Whether an incident with no attempt since lastSeenMs is due to resolve itself at nowMs. */
export function autoResolveDue(lastSeenMs: number, nowMs: number, autoResolveHours: number): boolean {
  return nowMs - lastSeenMs >= autoResolveHours * 3_600_000;
}

/** The attempts step reached: 0 below 100, 1 from 100, 2 from 1,000, 3 from 10,000 ... */
export function attemptsStep(attempts: number): number {
  return attempts < 100 ? 0 : Math.floor(Math.log10(attempts)) - 1;
}

/**
 * Whether reaching `names` distinct names is an escalation step: each new name up to 10 (a second
 * pool is news), then only 100, 1,000 ... (a host walking thousands of names must not flood).
 */
export function isNameStep(names: number): boolean {
  if (names <= 1) return false;
  if (names <= 10) return true;
  return Number.isInteger(Math.log10(names)) && names >= 100;
}

/** Escalation reasons between a before and an after (names counted distinct). */
export function escalationReasons(
  before: { readonly attempts: number; readonly names: number },
  after: { readonly attempts: number; readonly names: number },
): string[] {
  const reasons: string[] = [];
  for (let n = before.names + 1; n <= after.names; n += 1) {
    if (isNameStep(n)) {
      reasons.push(`${n} distinct names`);
      break;
    }
  }
  const step = attemptsStep(after.attempts);
  if (step > attemptsStep(before.attempts)) reasons.push(`attempts passed ${10 ** (step + 1)}`);
  return reasons;
}
