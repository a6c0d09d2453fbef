/**
 * The composition root: config → store → admin token → lists → cache → upstream → resolver →
 * DNS listeners → admin API. Owns start-up order and graceful shutdown; nothing else wires modules
 * together. Everything that can fail for a reason the operator must fix (database, token) is opened
 * before any socket.
 */
import type { Logger } from 'pino';
import type { Config } from './config/types.js';
import type { BlockEventSink } from './dns/block-event.js';
import type { Resolver } from './dns/resolver.js';
import type { RateLimitGate } from './dns/rate-limit.js';
import type { DnsCache } from './cache/dns-cache.js';
import type { UpstreamPool } from './upstream/pool.js';
import { createDnsCore, startDnsListeners } from './dns-serving.js';
import { startWorkerPool, workerCount, type WorkerPool } from './cluster/primary.js';
import { createClusterViews } from './cluster/admin-views.js';
import { createListManager, type ListManager } from './blocklist/list-manager.js';
import { createListStore, listRecordsVia } from './store/list-store.js';
import { logStartLine } from './start-line.js';
import { shipOutcomes } from './store/outcome-shipping.js';
import { formatHostPort, type HostPort } from './net/address.js';
import { openStoreConnection, type StoreConnection } from './store/database.js';
import { startWriterThread } from './store/writer-thread.js';
import { incidentSettings } from './incidents/incident-settings.js';
import { startReaderThread } from './store/reader-thread.js';
import type { EventWriter } from './store/types.js';
import { resolveAdminToken } from './admin/auth.js';
import { countListMatches } from './dns/list-matches.js';
import { startAdminServer, type AdminServer } from './admin/server.js';
import { dashboardAssets } from './admin/static-assets.js';
import { startHostIdentity, type HostIdentityService } from './inventory/host-identity-service.js';
import { createStartedResources, startOrUnwind, type StartedResources } from './started-resources.js';
import { createListWatch } from './notify/list-watch.js';
import { createIpSources, type IpSources } from './pool-ips/ip-sources.js';
import { startPoolIps, type PoolIps } from './pool-ips/pool-ips.js';
import type { Notification } from './notify/notification.js';
import { PoolsinkError } from './errors.js';
import { createReloader, type ReloadResult, type Reloader, type RotatedToken } from './reload.js';
import { startHoneypot } from './honeypot/start-honeypot.js';
import type { HoneypotServer } from './honeypot/honeypot-server.js';
import { createHistoryRecorder } from './store/history-recorder.js';
import type { HistoryBatch } from './store/history-protocol.js';
import { createRetroHunts } from './incidents/retro-hunt.js';
import { startFleet, type Fleet, type FleetOptions } from './central/fleet.js';

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
  const { log } = options;
  let hostIdentityRef: HostIdentityService | undefined;
  // The block log's writer and pruner run in a worker thread with their own connection, so SQLite
  // work never pauses DNS answers.
  const writer = await startWriterThread({
    onIdentityMisses: (clientIps) => hostIdentityRef?.identityMisses(clientIps),
    path: store.path,
    log,
    retentionDays: config.database.retentionDays,
    maxEvents: config.database.maxEvents,
    maxNamesPerHost: config.database.maxNamesPerHost,
    flushIntervalMs: config.database.flushIntervalMs,
    maxBuffered: config.database.maxBufferedEvents,
    coalesceWindowMs: config.database.coalesceWindowMs,
    // incidents.enabled false: the writer keeps the block log only (no tracker).
    // With a fleet PostgreSQL, incidents are notified centrally (src/central/), not per instance.
    ...(config.incidents.enabled
      ? { incidents: { ...incidentSettings(config), notify: config.central.postgres === undefined } }
      : {}),
    onReopened: () => {
      if (store.fileReplaced()) store.reopen();
    },
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    notify: config.notify,
    ...(config.history.enabled ? { history: config.history } : {}),
  });
  // Closing writes everything buffered, stops the pruner and ends the writer thread.
  resources.add('writer thread', async () => {
    writer.close();
    await writer.exited;
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
  const observer = options.events;
  const listMatches = countListMatches(writer);
  const events: BlockEventSink =
    observer === undefined
      ? listMatches
      : {
          record(event) {
            listMatches.record(event);
            observer.record(event);
          },
        };

  let resolverRef: Resolver | undefined;
  let ipSourcesRef: IpSources | undefined; // the lists' first swap comes before the sources exist
  let workersRef: WorkerPool | undefined;
  const lists = createListManager({
    lists: config.blocklists,
    allowlist: config.allowlist,
    baseDir: config.baseDir,
    dataDir: config.dataDir,
    // Read here at start; written by the writer thread, so a write never waits on this thread.
    store: listRecordsVia(createListStore(store), (write) => writer.writeListStore(write)),
    log: log.child({ component: 'lists' }),
    onMatcher: (matcher) => {
      resolverRef?.setMatcher(matcher);
      workersRef?.setMatcher(matcher);
    },
    onNamesAdded: retroHunts.namesAdded,
    onIpLists: (ipLists) => ipSourcesRef?.setIpLists(ipLists),
    fetch: { allowPrivateSources: config.lists.allowPrivateSources },
    ...(config.lists.fileSourceDir !== undefined ? { fileSourceDir: config.lists.fileSourceDir } : {}),
  });
  // Added before start: a start that fails halfway still stops what it began.
  resources.add('lists', () => lists.stop());
  await lists.start();
  // A fleet member ships its block log to PostgreSQL and shares lists through it (src/central/).
  const fleet = startFleetOf(config, {
    store,
    writeMeta: (write) => writer.writeMeta(write),
    lists,
    log,
    notify: (n) => writer.notify(n),
    clock: options.clock,
  });
  if (fleet !== undefined) resources.add('fleet', () => fleet.close());
  // list.failing: a look at the lists once a minute, off the query path; the outbox is in the writer thread.
  if (config.notify.length > 0) {
    const listWatch = createListWatch({
      lists: () => lists.lists(),
      onFailing: (list, sinceMs, atMs) =>
        writer.notify({
          type: 'list.failing',
          atMs,
          payload: {
            list: list.name,
            source: list.source,
            lastError: list.lastError,
            failingSince: new Date(sinceMs).toISOString(),
          },
        }),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
    listWatch.start();
    resources.add('list watch', () => listWatch.stop());
  }
  // dns.workers 1: this process answers; more: the core below is the primary's own (its upstream
  // pool serves reverse DNS) and the workers answer with cores of their own (cluster/).
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
    clock: options.clock,
  });
  const { cache, latency, upstream, acl, resolver, rateLimit } = core;
  // From here on a list swap or a new ip blocklist reaches this resolver (none may fall in between).
  resolverRef = resolver;
  // Host identity: inventory files and reverse DNS feed the writer thread's identity snapshot.
  const hostIdentity = await startHostIdentity({
    hosts: config.hosts,
    upstream,
    publish: (update) => writer.setIdentities(update),
    log: log.child({ component: 'inventory' }),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
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
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  resources.add('pool IP learner', () => poolIps.stop());
  const workers = workerCount(config.dns.workers);
  let drainListeners: () => Promise<void>;
  let udp: readonly HostPort[];
  let tcp: readonly HostPort[];
  let views: ReturnType<typeof createClusterViews> | undefined;
  if (workers > 1) {
    // Each worker ships its outcome counts itself (cluster/worker.ts).
    const matcherAtFork = lists.matcher;
    const ipListsAtFork = ipSources.blocklist;
    const pool = await startWorkerPool({
      config,
      count: workers,
      matcher: lists.matcher,
      log,
      events,
      addOutcomes: (deltas) => writer.addOutcomes(deltas),
      ipLists: ipSources.inputs,
      ...(history !== undefined ? { recordHistory: (batch: HistoryBatch) => writer.recordHistory(batch) } : {}),
    });
    resources.add('resolver workers', () => pool.close());
    workersRef = pool;
    // A list swap while the workers were forking reached no worker: send what is current now.
    if (lists.matcher !== matcherAtFork) pool.setMatcher(lists.matcher);
    if (ipSources.blocklist !== ipListsAtFork) pool.setIpLists(ipSources.inputs);
    views = createClusterViews({ pool, matcher: () => resolver.matcher, rateLimited: rateLimit !== undefined });
    ({ udp, tcp } = pool);
    drainListeners = () => pool.close();
  } else {
    // Query outcome counts go to the database every few seconds, and once more when the listeners
    // have closed (so the last counts are final).
    const stopOutcomes = shipOutcomes(
      () => resolver.counters,
      (deltas) => writer.addOutcomes(deltas),
    );
    resources.add('outcome counts', stopOutcomes);
    const listeners = await startDnsListeners({ config, core, log, resources });
    ({ udp, tcp } = listeners);
    drainListeners = () => listeners.drain(reloader.config);
  }

  // The stratum honeypot behind the sinkhole: its logins go to the writer thread like block events.
  const honeypot = await startHoneypot({
    honeypot: config.honeypot,
    block: config.block,
    dataDir: config.dataDir,
    log,
    onLogin: (login) => writer.recordMinerLogin(login),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  if (honeypot !== undefined) resources.add('honeypot', () => honeypot.close());

  let serving = true;
  // The admin API's block-log queries run in their own thread too: a /stats over millions of
  // events reads for tens of milliseconds, which would otherwise pause every DNS answer.
  const reader = await startReaderThread({ path: store.path, log });
  resources.add('reader thread', () => reader.close());
  const admin = await startAdminServer({
    listen: config.admin.listen,
    token: adminToken,
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
      inventory: hostIdentity,
      poolIps: poolIps.feed,
      listMetrics: { lists: () => lists.status().lists },
      changeIncident: (change) => writer.changeIncident(change),
      retroHunt: retroHunts.hunt,
      config: () => reloader.config,
      listMatches,
      ...(views === undefined
        ? { latency, ...(rateLimit !== undefined ? { rateLimit } : {}) }
        : {
            refresh: () => views.refresh(),
            settle: () => workersRef?.synced() ?? Promise.resolve(),
            extraMetrics: () => views.extraMetrics(),
            ...(views.rateLimit !== undefined ? { rateLimit: views.rateLimit } : {}),
          }),
      processMetrics: true,
      ...(honeypot !== undefined ? { honeypot } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...(config.notify.length > 0
        ? { notify: { status: () => writer.notifyStatus(), send: (n: Notification) => writer.notify(n) } }
        : {}),
      configuration: {
        reload: () => poolsink.reload(),
        rotateToken: () => poolsink.rotateToken(),
      },
      health: () => ({
        serving,
        listeners: [
          ...udp.map((address) => ({ protocol: 'udp' as const, address: formatHostPort(address) })),
          ...tcp.map((address) => ({ protocol: 'tcp' as const, address: formatHostPort(address) })),
        ],
      }),
    },
  });
  resources.add('admin server', () => admin.close());
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
    await drainListeners();
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

function startFleetOf(
  config: Config,
  parts: {
    store: StoreConnection;
    writeMeta: FleetOptions['writeMeta'];
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
    writeMeta: parts.writeMeta,
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
