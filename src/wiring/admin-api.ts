/**
 * The admin API: its block-log queries run in a reader thread of their own (a /stats over millions
 * of events reads for tens of milliseconds, which would otherwise pause every DNS answer); the
 * routes read the running parts (with dns.workers > 1, the workers' sums through cluster views).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import type { ConfigurationApi } from '../admin/routes-config.js';
import { dashboardAssets } from '../admin/static-assets.js';
import type { ListManager } from '../blocklist/list-manager.js';
import type { Fleet } from '../central/fleet.js';
import type { DnsCore } from '../dns-serving.js';
import type { ListMatchCounter } from '../dns/list-matches.js';
import type { HoneypotServer } from '../honeypot/honeypot-server.js';
import type { RetroHunts } from '../incidents/retro-hunt.js';
import type { HostIdentityService } from '../inventory/host-identity-service.js';
import { formatHostPort } from '../net/address.js';
import type { Notification } from '../notify/notification.js';
import type { PoolIps } from '../pool-ips/pool-ips.js';
import { startReaderThread } from '../store/reader-thread.js';
import type { WriterThread } from '../store/writer-thread.js';
import type { StartedResources } from '../started-resources.js';
import type { Answering } from './answering.js';

export async function startAdminApi(
  config: Config,
  parts: {
    token: string;
    log: Logger;
    resources: StartedResources;
    storePath: string;
    core: DnsCore;
    answering: Answering;
    writer: WriterThread;
    lists: ListManager;
    fleet: Fleet | undefined;
    hostIdentity: HostIdentityService;
    poolIps: PoolIps;
    retroHunts: RetroHunts;
    listMatches: ListMatchCounter;
    honeypot: HoneypotServer | undefined;
    clock: (() => number) | undefined;
    /** The configuration in effect (a reload replaces it). */
    currentConfig: () => Config;
    configuration: ConfigurationApi;
    /** False once shutdown has begun. */
    serving: () => boolean;
  },
): Promise<AdminServer> {
  const { log, resources, core, answering, writer, lists, fleet, honeypot, clock } = parts;
  const { cache, latency, upstream, resolver, rateLimit } = core;
  const { views, udp, tcp } = answering;
  const reader = await startReaderThread({ path: parts.storePath, log });
  resources.add('reader thread', () => reader.close());
  const admin = await startAdminServer({
    listen: config.admin.listen,
    token: parts.token,
    log,
    metricsAuth: config.admin.metricsAuth,
    hostnames: config.admin.hostnames,
    limits: { maxConnectionsPerClient: config.admin.maxConnectionsPerClient },
    ...dashboardAssets(log),
    deps: {
      events: reader,
      resolver: views?.resolver ?? resolver,
      cache: views?.cache ?? cache,
      upstream: views?.upstream ?? upstream,
      eventWriter: writer,
      lists: fleet?.lists ?? lists,
      ...(fleet !== undefined ? { fleet } : {}),
      inventory: parts.hostIdentity,
      poolIps: parts.poolIps.feed,
      listMetrics: { lists: () => lists.status().lists },
      changeIncident: (change) => writer.changeIncident(change),
      retroHunt: parts.retroHunts.hunt,
      config: parts.currentConfig,
      listMatches: parts.listMatches,
      ...(views === undefined
        ? { latency, ...(rateLimit !== undefined ? { rateLimit } : {}) }
        : {
            refresh: () => views.refresh(),
            settle: () => answering.workers?.synced() ?? Promise.resolve(),
            extraMetrics: () => views.extraMetrics(),
            ...(views.rateLimit !== undefined ? { rateLimit: views.rateLimit } : {}),
          }),
      processMetrics: true,
      ...(honeypot !== undefined ? { honeypot } : {}),
      ...(clock !== undefined ? { clock } : {}),
      ...(config.notify.length > 0
        ? { notify: { status: () => writer.notifyStatus(), send: (n: Notification) => writer.notify(n) } }
        : {}),
      configuration: parts.configuration,
      health: () => ({
        serving: parts.serving(),
        listeners: [
          ...udp.map((address) => ({ protocol: 'udp' as const, address: formatHostPort(address) })),
          ...tcp.map((address) => ({ protocol: 'tcp' as const, address: formatHostPort(address) })),
        ],
      }),
    },
  });
  resources.add('admin server', () => admin.close());
  return admin;
}
