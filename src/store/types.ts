/**
 * The block log's contract: what the resolver writes (BlockEvent, via BlockEventSink) and what the
 * admin API and CLI read. Implemented by the modules in src/store/.
 */
import type { BlockAction, BlockEvent } from '../dns/block-event.js';
import type { IncidentDetail, IncidentFilter, IncidentPage } from '../incidents/incident-queries.js';
import type { MinerLoginFilter, MinerLoginPage, StoredMinerLogin } from '../honeypot/miner-login-queries.js';

/** An incident with its recent events (GET /api/v1/incidents/{id}). */
export interface IncidentWithEvents extends IncidentDetail {
  readonly recent: readonly StoredEvent[];
  /** The honeypot logins that escalated it (the latest INCIDENT_MAX_LOGINS). */
  readonly minerLogins: readonly StoredMinerLogin[];
}
import type { HostIdentity } from '../inventory/host-identity.js';
import type { OverviewCounts, Timeseries, TimeseriesRange } from './dashboard-query.js';

export interface StoreConfig {
  /** SQLite file (resolved against the config file's directory). */
  readonly path: string;
  readonly retentionDays: number;
  readonly maxEvents: number;
}

/** An event as the writer thread records it: with the client's identity at that moment, if known. */
export interface RecordedEvent extends BlockEvent {
  readonly identity?: HostIdentity;
}

/** One stored event; `id` is the keyset cursor's tiebreaker. */
export interface StoredEvent extends Omit<BlockEvent, 'via' | 'count' | 'lastMs'> {
  readonly id: number;
  /** Queries the row stands for: repeats within database.coalesceWindowMs are one row. */
  readonly count: number;
  /** The last of them (timeMs is the first's; equal for a single query). */
  readonly lastMs: number;
  readonly via: string | null;
  /** The incident the event counted into (src/incidents/); null when incidents are off. */
  readonly incidentId: number | null;
  /** Who the client was when the event was recorded (host_identities). */
  readonly identity?: HostIdentity;
}

export interface EventFilter {
  /** Exact client IP. */
  readonly client?: string;
  /** Any of these exact client IPs (a CIDR resolved by clientsIn); empty matches nothing. */
  readonly clients?: readonly string[];
  /** Matches this name and its subdomains (lower case, no trailing dot). */
  readonly domain?: string;
  readonly list?: string;
  readonly action?: BlockAction;
  /** Events of this incident (used with `client`, whose index serves it). */
  readonly incidentId?: number;
  /** Inclusive lower bound, ms since epoch. */
  readonly sinceMs?: number;
  /** Exclusive upper bound, ms since epoch. */
  readonly untilMs?: number;
}

/** Opaque to clients: the (timeMs, id) of the last event of the previous page. */
export interface EventCursor {
  readonly timeMs: number;
  readonly id: number;
}

export interface EventPage {
  readonly events: readonly StoredEvent[];
  /** Present when more events match. */
  readonly nextCursor?: EventCursor;
}

export interface DomainCount {
  readonly domain: string;
  readonly count: number;
}

export interface HostSummary {
  readonly clientIp: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** Blocked (and alerted) queries ever recorded for this host; survives event pruning. */
  readonly blockedCount: number;
  /**
   * Distinct names kept in the host's summary: at most database.maxNamesPerHost, less those pruned
   * after retentionDays. Queries for further names are counted (blockedCount, topDomains) under
   * the name OTHER-NAMES, which is not counted here.
   */
  readonly distinctDomains: number;
  /** The host's most queried names; OTHER-NAMES (names beyond the cap) may be one of them. */
  readonly topDomains: readonly DomainCount[];
  /** The host's latest incident (open, acknowledged or resolved); null if none. */
  readonly incidentId: number | null;
  /** The identity of the host's latest event that had one. */
  readonly identity?: HostIdentity;
}

/** Query outcome counts per minute, persisted so /stats?since= can answer after a restart. */
export type OutcomeCounts = Readonly<Record<string, number>>;

export interface Stats {
  readonly sinceMs: number;
  /** forwarded, cached, blocked, alerted, refused, servfail, ... summed over the window. */
  readonly outcomes: OutcomeCounts;
  readonly droppedEvents: number;
  readonly topDomains: readonly DomainCount[];
  readonly topHosts: readonly { readonly clientIp: string; readonly count: number }[];
  readonly perList: readonly { readonly list: string; readonly count: number }[];
}

export interface EventWriterStats {
  /** Events waiting in memory for the next batch. */
  readonly buffered: number;
  readonly written: number;
  /** Events dropped because the buffer was full (disk slow, full or gone). */
  readonly dropped: number;
  readonly writeErrors: number;
  /** False while the last write attempt failed. */
  readonly healthy: boolean;
  readonly lastError?: string;
}

/** The writer the resolver records into; never blocks, never throws. */
export interface EventWriter {
  record(event: BlockEvent): void;
  /** Adds query outcome counts (deltas) to the minute of atMs (default: now). */
  addOutcomes(deltas: OutcomeCounts, atMs?: number): void;
  readonly stats: EventWriterStats;
  /** Writes everything buffered now (used at shutdown and by tests). */
  flush(): void;
  close(): void;
}

/** Keyset position in the host list (last_seen_ms DESC, client_ip DESC): the last host of a page. */
export interface HostCursor {
  readonly lastSeenMs: number;
  readonly clientIp: string;
}

export interface HostPage {
  readonly hosts: readonly HostSummary[];
  /** Present when more hosts match. */
  readonly nextCursor?: HostCursor;
}

/** The client addresses the hosts table holds inside a CIDR, or that there are more than `max`. */
export type ClientSet =
  | { readonly kind: 'clients'; readonly clients: readonly string[] }
  | { readonly kind: 'too-many'; readonly max: number };

export interface EventQueries {
  /** The known clients in `cidr` ("10.0.3.0/24", already validated), for a `clients` filter. */
  clientsIn(cidr: string): ClientSet;
  events(filter: EventFilter, limit: number, cursor?: EventCursor): EventPage;
  /** Every matching event, newest first, read in chunks (exports). */
  iterateEvents(filter: EventFilter): Iterable<StoredEvent>;
  hosts(sinceMs: number | undefined, limit: number): readonly HostSummary[];
  /** A page of hosts, most recent first, after `cursor` (GET /hosts pages and exports). */
  hostsPage(sinceMs: number | undefined, limit: number, cursor?: HostCursor): HostPage;
  host(clientIp: string, recentLimit: number): { summary: HostSummary; recent: readonly StoredEvent[] } | undefined;
  stats(sinceMs: number, topLimit: number): Stats;
  incidents(filter: IncidentFilter, limit: number, afterId?: number): IncidentPage;
  incident(id: number, recentLimit: number): IncidentWithEvents | undefined;
  /** Blocked attempts per list (and outcomes) in the range's buckets ending with now's (dashboard-query.ts). */
  timeseries(range: TimeseriesRange, nowMs: number, withOutcomes: boolean): Timeseries;
  /** The dashboard's stored counts since sinceMs: active incidents, hosts, top names, outcomes. */
  overview(sinceMs: number, topLimit: number): OverviewCounts;
  /** Stratum honeypot logins, newest first (src/honeypot/miner-login-queries.ts). */
  minerLogins(filter: MinerLoginFilter, limit: number, cursor?: EventCursor): MinerLoginPage;
}

/**
 * EventQueries answered off the caller's thread (reader-thread.ts) or, in tests, in-process
 * (asyncEventQueries in queries.ts). The admin API reads the block log through this, so a slow
 * query never pauses DNS answers.
 */
export interface EventReader {
  clientsIn(cidr: string): Promise<ClientSet>;
  events(filter: EventFilter, limit: number, cursor?: EventCursor): Promise<EventPage>;
  /** Every matching event, newest first, read a page at a time (exports). */
  iterateEvents(filter: EventFilter): AsyncIterable<StoredEvent>;
  hosts(sinceMs: number | undefined, limit: number): Promise<readonly HostSummary[]>;
  hostsPage(sinceMs: number | undefined, limit: number, cursor?: HostCursor): Promise<HostPage>;
  host(
    clientIp: string,
    recentLimit: number,
  ): Promise<{ summary: HostSummary; recent: readonly StoredEvent[] } | undefined>;
  stats(sinceMs: number, topLimit: number): Promise<Stats>;
  incidents(filter: IncidentFilter, limit: number, afterId?: number): Promise<IncidentPage>;
  incident(id: number, recentLimit: number): Promise<IncidentWithEvents | undefined>;
  timeseries(range: TimeseriesRange, nowMs: number, withOutcomes: boolean): Promise<Timeseries>;
  overview(sinceMs: number, topLimit: number): Promise<OverviewCounts>;
  minerLogins(filter: MinerLoginFilter, limit: number, cursor?: EventCursor): Promise<MinerLoginPage>;
}
