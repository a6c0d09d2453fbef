/**
 * The composition root: config → store → admin token → lists → cache → upstream → resolver →
 * DNS listeners → admin API. Owns start-up order and graceful shutdown; nothing else wires modules
 * together. Everything that can fail for a reason the operator must fix (database, token) is opened
 * before any socket.
 */
import type { Logger } from 'pino';
import type { Config } from './config/types.js';
import { createClientAcl } from './dns/acl.js';
import { RESOLVER_COUNTER_KEYS, createResolver, type BlockEventSink, type Resolver, type ResolverCounters } from './dns/resolver.js';
import { createRateLimitGate, createRateLimiter, type RateLimitGate } from './dns/rate-limit.js';
import { startOnOnePort } from './dns/one-port.js';
import { startTcpListener, type TcpListener } from './dns/tcp-server.js';
import { startUdpListener, type UdpListener } from './dns/udp-server.js';
import { createBlockAnswerTemplate } from './dns/wire.js';
import { createDnsCache, type DnsCache } from './cache/dns-cache.js';
import { createUpstreamPool, type UpstreamPool } from './upstream/pool.js';
import { createListManager, type ListManager } from './blocklist/list-manager.js';
import { createListStore, listRecordsVia } from './blocklist/list-store.js';
import { formatHostPort, ipToBytes, type HostPort } from './net/address.js';
import { openStoreConnection, type StoreConnection } from './store/database.js';
import { startWriterThread, type WriterThread } from './store/writer-thread.js';
import { startReaderThread, type ReaderThread } from './store/reader-thread.js';
import type { EventWriter, OutcomeCounts } from './store/types.js';
import { resolveAdminToken } from './admin/auth.js';
import { createLatencyRecorder } from './admin/metrics.js';
import { startAdminServer, type AdminServer } from './admin/server.js';

export interface Poolsink {
  readonly config: Config;
  readonly resolver: Resolver;
  readonly cache: DnsCache;
  readonly upstream: UpstreamPool;
  readonly lists: ListManager;
  readonly store: StoreConnection;
  readonly eventWriter: EventWriter;
  readonly admin: AdminServer;
  /** The admin API's bearer token. */
  readonly adminToken: string;
  /** Absent when dns.rateLimit.qps is 0. */
  readonly rateLimit: RateLimitGate | undefined;
  /** Bound addresses, in listen order (real ports when configured with port 0). */
  readonly udp: readonly HostPort[];
  readonly tcp: readonly HostPort[];
  /** Graceful stop: stop accepting, answer what is in flight (bounded wait), close everything. */
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** Also told of every block event (tests observe with it); the database always is. */
  events?: BlockEventSink;
  /** The resolver's clock (cache ages, event times); upstream timeouts always use real time. */
  clock?: () => number;
}

function addressBytes(address: string): Buffer {
  const bytes = ipToBytes(address);
  if (bytes === undefined) throw new Error(`not an IP address: ${address}`); // validated by config
  return bytes;
}

/** How often query outcome counts go to the database (for /stats?since=). */
const OUTCOME_INTERVAL_MS = 5_000;

/** Per-outcome differences since the previous snapshot; updates the snapshot. */
function outcomeDeltas(now: Readonly<ResolverCounters>, previous: ResolverCounters): OutcomeCounts {
  const deltas: Record<string, number> = {};
  for (const key of RESOLVER_COUNTER_KEYS) {
    if (now[key] !== previous[key]) deltas[key] = now[key] - previous[key];
    previous[key] = now[key];
  }
  return deltas;
}

export async function startPoolsink(config: Config, options: StartOptions): Promise<Poolsink> {
  const { log } = options;
  const store = openStoreConnection(config.database.path, { log });
  // The block log's writer and pruner run in a worker thread with their own connection, so SQLite
  // work never pauses DNS answers.
  let writer: WriterThread;
  try {
    writer = await startWriterThread({
      path: store.path,
      log,
      retentionDays: config.database.retentionDays,
      maxEvents: config.database.maxEvents,
      flushIntervalMs: config.database.flushIntervalMs,
      maxBuffered: config.database.maxBufferedEvents,
      onReopened: () => {
        if (store.fileReplaced()) store.reopen();
      },
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
  } catch (err: unknown) {
    store.close();
    throw err;
  }
  /** Writes everything buffered, stops the pruner and ends the writer thread. */
  async function closeWriter(): Promise<void> {
    writer.close();
    await writer.exited;
  }
  let adminToken: string;
  try {
    adminToken = resolveAdminToken({
      ...(config.admin.token !== undefined ? { token: config.admin.token } : {}),
      ...(config.admin.tokenFile !== undefined ? { tokenFile: config.admin.tokenFile } : {}),
      dataDir: config.dataDir,
      log,
    });
  } catch (err: unknown) {
    await closeWriter();
    store.close();
    throw err;
  }
  const observer = options.events;
  const events: BlockEventSink =
    observer === undefined
      ? writer
      : {
          record(event) {
            writer.record(event);
            observer.record(event);
          },
        };

  let resolverRef: Resolver | undefined;
  const lists = createListManager({
    lists: config.blocklists,
    allowlist: config.allowlist,
    baseDir: config.baseDir,
    dataDir: config.dataDir,
    // Read here at start; written by the writer thread, so a write never waits on this thread.
    store: listRecordsVia(createListStore(store), (write) => writer.writeListStore(write)),
    log: log.child({ component: 'lists' }),
    onMatcher: (matcher) => resolverRef?.setMatcher(matcher),
  });
  try {
    await lists.start();
  } catch (err: unknown) {
    await lists.stop();
    await closeWriter();
    store.close();
    throw err;
  }
  const cache = createDnsCache(config.cache);
  const latency = createLatencyRecorder();
  const upstream = createUpstreamPool({
    upstreams: config.upstreams,
    timeoutMs: config.upstreamTimeoutMs,
    log,
    observeRtt: latency.observeUpstream,
  });
  const resolver = createResolver({
    acl: createClientAcl(config.dns.allowClients),
    matcher: lists.matcher,
    cache,
    upstream,
    blockTemplate: createBlockAnswerTemplate({
      kind: config.block.response,
      ttlSec: config.block.ttlSec,
      sinkholeIpv4: addressBytes(config.block.sinkholeIpv4),
      sinkholeIpv6: addressBytes(config.block.sinkholeIpv6),
    }),
    log,
    events,
    latency,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  resolverRef = resolver;

  // One gate for every listener: a client's UDP and TCP queries draw on one bucket.
  const rateLimitConfig = config.dns.rateLimit;
  const rateLimit =
    rateLimitConfig.qps > 0
      ? createRateLimitGate({
          limiter: createRateLimiter({ qps: rateLimitConfig.qps, burst: rateLimitConfig.burst }),
          action: rateLimitConfig.action,
          log,
        })
      : undefined;
  const listeners: (UdpListener | TcpListener)[] = [];
  /** Undoes a start that failed after the listeners began to open. */
  async function abandonStart(): Promise<void> {
    await Promise.all(listeners.map((l) => l.close()));
    await upstream.close();
    await lists.stop();
    await closeWriter();
    store.close();
  }
  try {
    for (const listen of config.dns.listen) {
      const { udp, tcp } = await startOnOnePort({
        port: listen.port,
        startUdp: () => startUdpListener({ listen, resolver, log, ...(rateLimit !== undefined ? { rateLimit } : {}) }),
        startTcp: (port) =>
          startTcpListener({
            listen: { ...listen, port },
            resolver,
            log,
            ...(rateLimit !== undefined ? { rateLimit } : {}),
            limits: {
              idleTimeoutMs: config.dns.tcpIdleTimeoutMs,
              readTimeoutMs: config.dns.tcpReadTimeoutMs,
              maxConnections: config.dns.tcpMaxConnections,
              maxConnectionsPerClient: config.dns.tcpMaxConnectionsPerClient,
            },
          }),
      });
      listeners.push(udp, tcp);
    }
  } catch (err: unknown) {
    await abandonStart();
    throw err;
  }

  const udp = listeners.filter((l): l is UdpListener => l.protocol === 'udp').map((l) => l.address);
  const tcp = listeners.filter((l): l is TcpListener => l.protocol === 'tcp').map((l) => l.address);
  let serving = true;
  // The admin API's block-log queries run in their own thread too: a /stats over millions of
  // events reads for tens of milliseconds, which would otherwise pause every DNS answer.
  let reader: ReaderThread;
  try {
    reader = await startReaderThread({ path: store.path, log });
  } catch (err: unknown) {
    await abandonStart();
    throw err;
  }
  let admin: AdminServer;
  try {
    admin = await startAdminServer({
      listen: config.admin.listen,
      token: adminToken,
      log,
      metricsAuth: config.admin.metricsAuth,
      deps: {
        events: reader,
        resolver,
        cache,
        upstream,
        eventWriter: writer,
        lists,
        listMetrics: { lists: () => lists.status().lists },
        latency,
        processMetrics: true,
        ...(rateLimit !== undefined ? { rateLimit } : {}),
        ...(options.clock !== undefined ? { clock: options.clock } : {}),
        health: () => ({
          serving,
          listeners: [
            ...udp.map((a) => ({ protocol: 'udp' as const, address: formatHostPort(a) })),
            ...tcp.map((a) => ({ protocol: 'tcp' as const, address: formatHostPort(a) })),
          ],
        }),
      },
    });
  } catch (err: unknown) {
    await reader.close();
    await abandonStart();
    throw err;
  }
  const outcomeSnapshot = { ...resolver.counters };
  const outcomeTimer = setInterval(() => writer.addOutcomes(outcomeDeltas(resolver.counters, outcomeSnapshot)), OUTCOME_INTERVAL_MS);
  outcomeTimer.unref();
  log.info(
    {
      listen: udp.map(formatHostPort),
      upstreams: config.upstreams.map(formatHostPort),
      lists: lists.lists().map((l) => ({ name: l.name, source: l.source, entries: l.entries, skipped: l.skipped, loadedFrom: l.loadedFrom, error: l.lastError })),
      blockedDomains: resolver.matcher.size,
      allowlist: resolver.matcher.allowlistSize,
      blockResponse: config.block.response,
      admin: formatHostPort(admin.address),
      database: config.database.path,
    },
    'poolsink started',
  );

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    serving = false;
    for (const l of listeners) l.stopAccepting();
    const drainLimitMs = config.upstreamTimeoutMs * (config.upstreams.length + 1) + 500;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      resolver.drain(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, drainLimitMs);
      }),
    ]);
    clearTimeout(timer);
    await Promise.all(listeners.map((l) => l.close()));
    await upstream.close();
    await admin.close();
    await reader.close();
    await lists.stop();
    clearInterval(outcomeTimer);
    writer.addOutcomes(outcomeDeltas(resolver.counters, outcomeSnapshot));
    await closeWriter();
    const { written, dropped } = writer.stats;
    store.close();
    log.info({ counters: resolver.counters, events: { written, dropped } }, 'poolsink stopped');
  }

  return {
    config,
    resolver,
    cache,
    upstream,
    lists,
    store,
    eventWriter: writer,
    admin,
    adminToken,
    rateLimit,
    udp,
    tcp,
    close() {
      closing ??= close();
      return closing;
    },
  };
}
