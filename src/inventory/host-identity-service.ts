/**
 * Host identity, as the composition root starts it: the inventory files (reloaded when they change)
 * and, with `hosts.reverseDns`, PTR lookups for the addresses the writer thread found no identity
 * for. Both feed the writer thread's identity snapshot (setIdentities), which is where events get
 * their identity; nothing here runs per DNS query.
 */
import type { Logger } from 'pino';
import type { HostsConfig } from '../config/types.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { IdentityLookup } from './host-identity.js';
import type { IdentityUpdate } from './identity-snapshot.js';
import { createInventoryFiles, type InventoryFileStatus } from './inventory-files.js';
import { createReverseDns, type ReverseDnsStats } from './reverse-dns.js';

export interface HostIdentityStatus {
  readonly files: readonly InventoryFileStatus[];
  /** Addresses the merged inventory names. */
  readonly identities: number;
  /** Null when reverse DNS is off. */
  readonly reverseDns: ReverseDnsStats | null;
}

export interface HostIdentityService {
  status(): HostIdentityStatus;
  /** Inventory first, then the reverse-DNS cache (for the DNS thread's own uses; events use the writer's snapshot). */
  readonly lookup: IdentityLookup;
  /** Addresses the writer recorded events for without an identity (writer thread → reverse DNS). */
  identityMisses(clientIps: readonly string[]): void;
  /** Checks the inventory files now (tests; the poll timer does this by itself). */
  check(): Promise<void>;
  /**
   * Watches `inventory` instead of the files it watched (a configuration reload): resolves once
   * they are loaded and their merged map has replaced the writer's inventory layer.
   */
  replaceInventory(inventory: HostsConfig['inventory']): Promise<void>;
  stop(): void;
}

export interface HostIdentityOptions {
  readonly hosts: HostsConfig;
  readonly upstream: Pick<UpstreamPool, 'query'>;
  /** The writer thread's setIdentities. */
  readonly publish: (update: IdentityUpdate) => void;
  readonly log: Logger;
  readonly clock?: () => number;
  /** How often inventory files are checked for changes. Default 5000. */
  readonly pollIntervalMs?: number;
}

/** Loads the inventory files (a bad one is reported, never fatal) and starts watching them. */
export async function startHostIdentity(options: HostIdentityOptions): Promise<HostIdentityService> {
  const { hosts, publish, log } = options;
  const inventoryFiles = (inventory: HostsConfig['inventory']) =>
    createInventoryFiles({
      files: inventory,
      log,
      onChange: (identities) => publish({ inventory: [...identities] }),
      ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
  let files = inventoryFiles(hosts.inventory);
  const reverse = hosts.reverseDns
    ? createReverseDns({
        upstream: options.upstream,
        log,
        onChange: (change) => publish({ reverseSet: change.set, reverseDelete: change.delete }),
        ...(options.clock !== undefined ? { clock: options.clock } : {}),
      })
    : undefined;
  if (reverse !== undefined) publish({ reportMisses: true });
  await files.start();
  return {
    status: () => ({
      files: files.status(),
      identities: files.identities().size,
      reverseDns: reverse === undefined ? null : reverse.stats,
    }),
    lookup: (clientIp) => files.identities().get(clientIp) ?? reverse?.lookup(clientIp),
    identityMisses(clientIps) {
      // Asked for even when an inventory names them since: the writer's snapshot may lag a reload.
      reverse?.request(clientIps.filter((ip) => !files.identities().has(ip)));
    },
    check: () => files.check(),
    async replaceInventory(inventory) {
      const next = inventoryFiles(inventory);
      await next.start();
      files.stop();
      files = next;
      publish({ inventory: [...next.identities()] });
    },
    stop: () => files.stop(),
  };
}
