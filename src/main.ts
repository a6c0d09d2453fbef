/**
 * The composition root: config → store → admin token → lists → cache → upstream → resolver →
 * DNS listeners → admin API. Owns start-up order and graceful shutdown; nothing else wires modules
 * together. Everything that can fail for a reason the operator must fix (database, token) is opened
 * before any socket. The larger steps live in wiring/ (each adds what it starts to `resources`), so
 * this file reads as the ordered list of starts.
 */
import type { Logger } from 'pino';
import type { Config } from './config/types.js';
import type { BlockEventSink } from './dns/block-event.js';
import type { Resolver } from './dns/resolver.js';
import type { RateLimitGate } from './dns/rate-limit.js';
import type { DnsCache } from './cache/dns-cache.js';
import type { UpstreamPool } from './upstream/pool.js';
import { createDnsCore } from './dns-serving.js';
import type { WorkerPool } from './cluster/primary.js';
import type { ListManager } from './blocklist/list-manager.js';
import { logStartLine } from './start-line.js';
import type { HostPort } from './net/address.js';
import { openStoreConnection, type StoreConnection } from './store/database.js';
import type { EventWriter } from './store/types.js';
import { resolveAdminToken } from './admin/auth.js';
import type { AdminServer } from './admin/server.js';
import { startHostIdentity, type HostIdentityService } from './inventory/host-identity-service.js';
import { createStartedResources, startOrUnwind, type StartedResources } from './started-resources.js';
import { createIpSources, type IpSources } from './pool-ips/ip-sources.js';
import { startPoolIps, type PoolIps } from './pool-ips/pool-ips.js';
import { PoolsinkError } from './errors.js';
import { createReloader, type ReloadResult, type Reloader, type RotatedToken } from './reload.js';
import { startHoneypot } from './honeypot/start-honeypot.js';
import type { HoneypotServer } from './honeypot/honeypot-server.js';
import { createHistoryRecorder } from './store/history-recorder.js';
import { createRetroHunts } from './incidents/retro-hunt.js';
import type { Fleet } from './central/fleet.js';
import { startBlockLogWriter } from './wiring/writer.js';
import { routeBlockEvents } from './wiring/block-events.js';
import { startLists, watchFailingLists } from './wiring/lists.js';
import { startFleetOf } from './wiring/fleet.js';
import { startAnswering } from './wiring/answering.js';
import { startAdminApi } from './wiring/admin-api.js';

export interface Poolsink {
  /** The configuration last applied (a reload replaces it; keys needing a restart keep their start values in effect). */
  readonly config: Config;
  readonly resolver: Resolver;
  readonly cache: DnsCache;
  readonly upstream: UpstreamPool;
  readonly lists: ListManager;
  readonly store: StoreConnection;
  readonly eventWriter: EventWriter;
  readonly admin: AdminServer;
  /** Inventory files and reverse DNS (hosts.*). */
  readonly hostIdentity: HostIdentityService;
  /** The pool IP learner and feed (poolIps.*, ip lists). */
  readonly poolIps: PoolIps;
  /** The fleet member (central.postgres); absent when this instance stands alone. */
  readonly fleet: Fleet | undefined;
  /** The admin API's bearer token now (a reload or rotation replaces it). */
  readonly adminToken: string;
  /** Reads the configuration file again and applies what can change live (reload.ts); serialized. */
  reload(): Promise<ReloadResult>;
  /** A new admin token into the token file, in use at once; ERR_CONFLICT for an inline admin.token. */
  rotateToken(): Promise<RotatedToken>;
  /** Absent when dns.rateLimit.qps is 0. */
  readonly rateLimit: RateLimitGate | undefined;
  /** Bound addresses, in listen order (real ports when configured with port 0). */
  readonly udp: readonly HostPort[];
  readonly tcp: readonly HostPort[];
  /**
   * dns.workers > 1: the resolver processes answering queries (then `resolver`, `cache` and
   * `rateLimit` above are the primary's own, idle: the admin API reads the workers' sums).
   */
  readonly workers: WorkerPool | undefined;
  /** The stratum honeypot; absent when honeypot.listen and tlsListen are empty. */
  readonly honeypot: HoneypotServer | undefined;
  /** Graceful stop: stop accepting, answer what is in flight (bounded wait), close everything. */
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** Also told of every block event (tests observe with it); the database always is. */
  events?: BlockEventSink;
  /** The resolver's clock (cache ages, event times); upstream timeouts always use real time. */
  clock?: () => number;
  /** Reads the configuration again for reload() (the CLI: loadConfig of the same file); absent: reload fails. */
  loadConfig?: () => Config;
}

function noConfigFile(): never {
  throw new PoolsinkError('ERR_CONFIG_READ', 'poolsink was started without a configuration file to reload');
}

export async function startPoolsink(config: Config, options: StartOptions): Promise<Poolsink> {
  const { log } = options;
  const resources = createStartedResources(log);
  const store = openStoreConnection(config.database.path, { log });
  resources.add('store', () => store.close());
  return startOrUnwind(resources, () => startOnStore(config, options, store, resources));
}

/** Everything after the database: each start adds its resource, so a failure unwinds only what started. */
async function startOnStore(
  config: Config,
  options: StartOptions,
  store: StoreConnection,
  resources: StartedResources,
): Promise<Poolsink> {
  const { log, clock } = options;
  let hostIdentityRef: HostIdentityService | undefined;
  const writer = await startBlockLogWriter(config, {
    store,
    log,
    resources,
    clock,
    onIdentityMisses: (clientIps) => hostIdentityRef?.identityMisses(clientIps),
  });
  // Retro-hunt (history.*): the DNS thread's recorder ships (client, name, hour) keys to the writer.
  const history = config.history.enabled
    ? createHistoryRecorder({ maxPerHour: config.history.maxPerHour, ship: (b) => writer.recordHistory(b), log })
    : undefined;
  resources.add('query history', () => history?.close());
  const retroHunts = createRetroHunts({ enabled: history !== undefined, writer, log });
  const adminToken = resolveAdminToken({
    ...(config.admin.token !== undefined ? { token: config.admin.token } : {}),
    ...(config.admin.tokenFile !== undefined ? { tokenFile: config.admin.tokenFile } : {}),
    dataDir: config.dataDir,
    log,
  });
  const { events, listMatches } = routeBlockEvents(writer, options.events);

  let resolverRef: Resolver | undefined;
  let ipSourcesRef: IpSources | undefined; // the lists' first swap comes before the sources exist
  let workersRef: WorkerPool | undefined;
  const lists = await startLists(config, {
    store,
    writer,
    log,
    resources,
    onMatcher: (matcher) => {
      resolverRef?.setMatcher(matcher);
      workersRef?.setMatcher(matcher);
    },
    onNamesAdded: retroHunts.namesAdded,
    onIpLists: (ipLists) => ipSourcesRef?.setIpLists(ipLists),
  });
  const fleet = startFleetOf(config, { store, lists, log, notify: (n) => writer.notify(n), clock });
  if (fleet !== undefined) resources.add('fleet', () => fleet.close());
  watchFailingLists(config, { lists, writer, resources, clock });
  // Response-IP blocking: ip lists and learned pool addresses, checked on forwarded answers.
  const ipSources = createIpSources(lists.ipLists(), (blocklist, inputs) => {
    resolverRef?.setIpBlocklist(blocklist);
    workersRef?.setIpLists(inputs);
  });
  ipSourcesRef = ipSources;
  const core = createDnsCore({
    config,
    log,
    matcher: lists.matcher,
    ipBlocklist: ipSources.blocklist,
    events,
    resources,
    history,
    clock,
  });
  const { cache, upstream, acl, resolver, rateLimit } = core;
  // From here on a list swap or a new ip blocklist reaches this resolver (none may fall in between).
  resolverRef = resolver;
  // Host identity: inventory files and reverse DNS feed the writer thread's identity snapshot.
  const hostIdentity = await startHostIdentity({
    hosts: config.hosts,
    upstream,
    publish: (update) => writer.setIdentities(update),
    log: log.child({ component: 'inventory' }),
    ...(clock !== undefined ? { clock } : {}),
  });
  hostIdentityRef = hostIdentity;
  resources.add('host identity', () => hostIdentity.stop());
  // Learned pool IPs: resolved off the query path through the upstream pool, saved in SQLite.
  const poolIps = startPoolIps(config, {
    lists,
    upstream,
    store,
    writer,
    log,
    ipSources,
    ...(clock !== undefined ? { clock } : {}),
  });
  resources.add('pool IP learner', () => poolIps.stop());
  const answering = await startAnswering(config, {
    core,
    lists,
    ipSources,
    events,
    writer,
    history,
    log,
    resources,
    onWorkers: (pool) => {
      workersRef = pool;
    },
    currentConfig: () => reloader.config,
  });
  const { udp, tcp } = answering;

  // The stratum honeypot behind the sinkhole: its logins go to the writer thread like block events.
  const honeypot = await startHoneypot({
    honeypot: config.honeypot,
    block: config.block,
    dataDir: config.dataDir,
    log,
    onLogin: (login) => writer.recordMinerLogin(login),
    ...(clock !== undefined ? { clock } : {}),
  });
  if (honeypot !== undefined) resources.add('honeypot', () => honeypot.close());

  let serving = true;
  const admin = await startAdminApi(config, {
    token: adminToken,
    log,
    resources,
    storePath: store.path,
    core,
    answering,
    writer,
    lists,
    fleet,
    hostIdentity,
    poolIps,
    retroHunts,
    listMatches,
    honeypot,
    clock,
    currentConfig: () => reloader.config,
    configuration: {
      reload: () => poolsink.reload(),
      rotateToken: () => poolsink.rotateToken(),
    },
    serving: () => serving,
  });
  const reloader: Reloader = createReloader({
    load: options.loadConfig ?? noConfigFile,
    started: config,
    token: adminToken,
    targets: {
      ...{ log, acl, resolver, upstream, lists, rateLimit, admin, hostIdentity },
      workers: {
        apply: async (next) => {
          workersRef?.reload(next);
          await workersRef?.synced();
        },
      },
    },
  });
  logStartLine(log, {
    config,
    udp,
    admin: admin.address,
    lists: lists.lists(),
    blockedDomains: resolver.matcher.blockSize,
    alertDomains: resolver.matcher.size - resolver.matcher.blockSize,
    allowlist: resolver.matcher.allowlistSize,
  });

  /** Stops accepting, answers what is in flight (bounded wait), then closes everything in reverse start order. */
  async function close(): Promise<void> {
    serving = false;
    await answering.drain();
    await resources.unwind();
    const { written, dropped } = writer.stats;
    log.info({ counters: resolver.counters, events: { written, dropped } }, 'poolsink stopped');
  }

  let closing: Promise<void> | undefined;
  const poolsink: Poolsink = {
    get config() {
      return reloader.config;
    },
    resolver,
    cache,
    upstream,
    lists,
    store,
    eventWriter: writer,
    admin,
    hostIdentity,
    poolIps,
    fleet,
    get adminToken() {
      return reloader.token;
    },
    reload: () => reloader.reload(),
    rotateToken: () => reloader.rotateToken(),
    rateLimit,
    udp,
    tcp,
    workers: workersRef,
    honeypot,
    close() {
      closing ??= close();
      return closing;
    },
  };
  return poolsink;
}
