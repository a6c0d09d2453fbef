/** The fleet API's reply shapes (README "Fleet", /api/v1/fleet/*): `source` says where rows came from. */
import type { HostIdentity, MinerLogin } from './types.js';

/** "fleet": read from PostgreSQL; "local": it was unreachable, this instance's own block log. */
export type FleetSource = 'fleet' | 'local';

/** Why a reply is the local view: PostgreSQL unreachable, or no answer within readTimeoutMs. */
export interface FleetFallback {
  readonly kind: 'unreachable' | 'timeout';
  readonly reason: string;
}

export interface FleetInstance {
  readonly name: string;
  readonly lastLocalId: number;
  readonly shippedEvents: number;
  readonly lastShipped: string | null;
  readonly seen: string;
}

export interface FleetInstances {
  readonly instance: string;
  readonly central: { readonly reachable: boolean };
  readonly instances: readonly FleetInstance[];
}

export interface FleetEvent {
  readonly id: number;
  readonly instance: string;
  readonly time: string;
  readonly clientIp: string;
  readonly protocol: string;
  /** As received (any byte); rendered as text only. */
  readonly qname: string;
  readonly list: string;
  readonly rule: string;
  readonly action: string;
  readonly count: number;
  readonly identity: HostIdentity | null;
}

export interface FleetEventPage {
  readonly source: FleetSource;
  readonly fallback?: FleetFallback;
  readonly instance: string;
  readonly events: readonly FleetEvent[];
  readonly nextCursor: string | null;
}

export interface FleetIncident {
  readonly id: number;
  readonly clientIp: string;
  readonly state: string;
  readonly severity: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly attempts: number;
  readonly instances: readonly string[];
  readonly identity: HostIdentity | null;
}

export interface FleetIncidents {
  readonly source: FleetSource;
  readonly fallback?: FleetFallback;
  readonly incidents: readonly FleetIncident[];
}

export interface FleetHost {
  readonly clientIp: string;
  readonly instance: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly blockedCount: number;
  readonly identity: HostIdentity | null;
}

export interface FleetHosts {
  readonly source: FleetSource;
  readonly fallback?: FleetFallback;
  readonly instance: string;
  readonly hosts: readonly FleetHost[];
  readonly nextCursor: string | null;
}

/** A honeypot login at any instance: a local login's fields (every string but protocol sent by the client), plus where. */
export interface FleetMinerLogin extends MinerLogin {
  readonly instance: string;
  readonly identity: HostIdentity | null;
  /** The fleet incident it escalated (null: none, or the local view). */
  readonly incidentId: number | null;
}

export interface FleetMinerLoginPage {
  readonly source: FleetSource;
  readonly fallback?: FleetFallback;
  readonly instance: string;
  readonly logins: readonly FleetMinerLogin[];
  readonly nextCursor: string | null;
}
