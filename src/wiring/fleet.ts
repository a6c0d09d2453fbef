/** The fleet member (central.postgres): ships the block log to PostgreSQL and shares lists through it (src/central/). */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { ListManager } from '../blocklist/list-manager.js';
import { startFleet, type Fleet } from '../central/fleet.js';
import { incidentSettings } from '../incidents/incident-settings.js';
import type { Notification } from '../notify/notification.js';
import type { StoreConnection } from '../store/database.js';

/** Absent when this instance stands alone (no central.postgres). */
export function startFleetOf(
  config: Config,
  parts: {
    store: StoreConnection;
    lists: ListManager;
    log: Logger;
    notify: (notification: Notification) => void;
    clock: (() => number) | undefined;
  },
): Fleet | undefined {
  const postgres = config.central.postgres;
  if (postgres === undefined) return undefined;
  return startFleet({
    instance: config.instance.name,
    postgres,
    store: parts.store,
    lists: parts.lists,
    log: parts.log.child({ component: 'central' }),
    ...(config.incidents.enabled
      ? {
          incidents: {
            autoResolveHours: config.incidents.autoResolveHours,
            notify: parts.notify,
            severities: incidentSettings(config).severities,
          },
        }
      : {}),
    ...(parts.clock !== undefined ? { clock: parts.clock } : {}),
  });
}
