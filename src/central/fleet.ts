/**
 * A fleet member: what an instance with `central.postgres` runs besides its local stack. The
 * PostgreSQL connection (central-db.ts), the shipper of the local block log (shipper.ts) with the
 * fleet's incidents (central-incidents.ts), the shared lists and allowlist (fleet-lists.ts), and
 * the reads the admin API's /fleet routes make (fleet-queries.ts), and the events table's partitions
 * and retention (maintenance.ts). Nothing here is on the DNS path.
 */
import type { Logger } from 'pino';
import type { ListManagement } from '../blocklist/list-api.js';
import type { PostgresConfig } from '../config/central-config.js';
import type { Notification } from '../notify/notification.js';
import { severityOf, type Severity } from '../incidents/incident-state.js';
import { localEventReader, localLoginReader } from '../store/shipping-reader.js';
import { localDatabaseIdentity, type MetaWrite } from '../store/database-identity.js';
import type { StoreConnection } from '../store/database.js';
import { MAX_FILTER_CLIENTS } from '../store/client-set.js';
import type { ClientSet } from '../store/types.js';
import { createCentralDb, type CentralStatus } from './central-db.js';
import { changeCentralIncident, type CentralIncident } from './central-incidents.js';
import { startFleetLists } from './fleet-lists.js';
import {
  fleetClientsIn,
  fleetEvents,
  fleetHosts,
  fleetIncidents,
  fleetInstances,
  fleetMinerLogins,
  type FleetMinerLogin,
  type FleetMinerLoginFilter,
  type FleetCursor,
  type FleetEvent,
  type FleetEventFilter,
  type FleetHost,
  type FleetHostCursor,
} from './fleet-queries.js';
import { ensureCurrentPartitions } from './event-partitions.js';
import { startEventMaintenance, type CentralMaintenanceResult } from './maintenance.js';
import { startShipper, type ShipperStats } from './shipper.js';

export interface FleetOptions {
  readonly instance: string;
  readonly postgres: PostgresConfig;
  readonly store: StoreConnection;
  /** Writes this database's key space claim (the writer thread's writeMeta). */
  readonly writeMeta: (write: MetaWrite) => Promise<void>;
  readonly lists: ListManagement;
  readonly log: Logger;
  /** Absent: incidents are not kept (incidents.enabled false). */
  readonly incidents?: {
    readonly autoResolveHours: number;
    /** Hands a claimed incident.opened to the local outbox (the writer thread). */
    readonly notify: (notification: Notification) => void;
    /** blocklists[].severity of the lists that set one (others: high, medium for alerting lists). */
    readonly severities?: Readonly<Record<string, Severity>>;
  };
  readonly clock?: () => number;
}

/** What the admin API's /fleet routes call; every read rejects with ERR_CENTRAL_UNAVAILABLE when PostgreSQL fails. */
export interface FleetApi {
  readonly instance: string;
  status(): CentralStatus;
  events(
    filter: FleetEventFilter,
    limit: number,
    cursor?: FleetCursor,
  ): Promise<{ events: FleetEvent[]; nextCursor?: FleetCursor }>;
  hosts(
    filter: { instance?: string; sinceMs?: number },
    limit: number,
    cursor?: FleetHostCursor,
  ): Promise<{ hosts: FleetHost[]; nextCursor?: FleetHostCursor }>;
  incidents(filter: { state?: string; instance?: string; client?: string }, limit: number): Promise<CentralIncident[]>;
  changeIncident(id: number, state: 'acknowledged' | 'resolved', note: string | undefined): Promise<CentralIncident>;
  minerLogins(
    filter: FleetMinerLoginFilter,
    limit: number,
    cursor?: FleetCursor,
  ): Promise<{ logins: FleetMinerLogin[]; nextCursor?: FleetCursor }>;
  instances(): Promise<Awaited<ReturnType<typeof fleetInstances>>>;
  /** The hosts any instance has seen inside a CIDR (a `client` filter's network), at most MAX_FILTER_CLIENTS. */
  clientsIn(cidr: string): Promise<ClientSet>;
}

export interface Fleet extends FleetApi {
  /** The list manager the admin API uses: changes reach PostgreSQL and the other instances. */
  readonly lists: ListManagement;
  shipNow(): Promise<number>;
  syncListsNow(): Promise<void>;
  /** One pass of central maintenance (partitions ahead, retention of every table) now. */
  maintainNow(): Promise<CentralMaintenanceResult>;
  shipping(): ShipperStats;
  close(): Promise<void>;
}

export function incidentNotification(
  incident: CentralIncident,
  atMs: number,
  type: 'incident.opened' | 'incident.escalated' = 'incident.opened',
): Notification {
  return {
    type,
    atMs,
    // The shape of a local incident's payload (incident-payload.ts) where it applies, plus the fleet's facts.
    payload: {
      scope: 'fleet',
      id: incident.id,
      client: incident.clientIp,
      identity: incident.identity ?? null,
      state: incident.state,
      severity: incident.severity,
      names: incident.names.slice(0, 5).map((qname) => ({ qname })),
      distinctNames: incident.names.length,
      ...(type === 'incident.escalated'
        ? { reasons: [incident.escalationReason ?? 'miner login at the honeypot'] }
        : {}),
      logins: incident.logins,
      attempts: incident.attempts,
      firstSeen: new Date(incident.openedMs).toISOString(),
      lastSeen: new Date(incident.lastSeenMs).toISOString(),
      instances: incident.instances,
    },
  };
}

export function startFleet(options: FleetOptions): Fleet {
  const { instance, postgres, log } = options;
  const clock = options.clock ?? Date.now;
  // Today's partitions at first contact, so the first batch finds them (maintenance.ts keeps them ahead).
  const db = createCentralDb(postgres, log, (client) => ensureCurrentPartitions(client, clock()));
  const incidents = options.incidents;
  const maintenance = startEventMaintenance({ db, retentionDays: postgres.retentionDays, log, clock });
  const shipper = startShipper({
    db,
    instance,
    identity: localDatabaseIdentity(options.store, options.writeMeta),
    readBatch: localEventReader(options.store),
    readLogins: localLoginReader(options.store),
    batchSize: postgres.batchSize,
    intervalMs: postgres.shipIntervalMs,
    log,
    clock,
    onDefaultPartition: () => maintenance.requestPass(),
    ...(incidents !== undefined
      ? {
          incidents: {
            autoResolveMs: incidents.autoResolveHours * 3_600_000,
            onOpened: (opened) => {
              for (const incident of opened) incidents.notify(incidentNotification(incident, clock()));
            },
            onEscalated: (escalated) => {
              for (const incident of escalated)
                incidents.notify(incidentNotification(incident, clock(), 'incident.escalated'));
            },
            severityOf: (list, action) =>
              severityOf(incidents.severities?.[list], action === 'alerted' ? 'alerted' : 'blocked'),
          },
        }
      : {}),
  });
  const fleetLists = startFleetLists({
    local: options.lists,
    db,
    instance,
    syncIntervalMs: postgres.syncIntervalMs,
    log,
    clock,
  });
  return {
    instance,
    lists: fleetLists.management,
    status: () => db.status(),
    events: (filter, limit, cursor) => db.read((client) => fleetEvents(client, filter, limit, cursor, clock())),
    hosts: (filter, limit, cursor) => db.read((client) => fleetHosts(client, filter, limit, cursor)),
    incidents: (filter, limit) => db.read((client) => fleetIncidents(client, filter, limit)),
    changeIncident: (id, state, note) =>
      db.withClient((client) =>
        changeCentralIncident(client, {
          id,
          state,
          ...(note !== undefined ? { note } : {}),
          actor: `api@${instance}`,
          atMs: clock(),
        }),
      ),
    minerLogins: (filter, limit, cursor) => db.read((client) => fleetMinerLogins(client, filter, limit, cursor)),
    instances: () => db.read((client) => fleetInstances(client)),
    clientsIn: (cidr) => db.read((client) => fleetClientsIn(client, cidr, MAX_FILTER_CLIENTS)),
    shipNow: () => shipper.shipNow(),
    syncListsNow: () => fleetLists.syncNow(),
    maintainNow: () => maintenance.runNow(),
    shipping: () => shipper.stats(),
    async close() {
      await fleetLists.stop();
      await maintenance.stop();
      await shipper.stop();
      // One last batch: what the writer flushed at close ships now rather than at the next start.
      await shipper.shipNow().catch(() => undefined); // PostgreSQL away: shipped at the next start
      await db.close();
    },
  };
}
