/**
 * The DNS-serving half of poolsink: cache, upstream pool, ACL, resolver, rate-limit gate and the
 * UDP/TCP listeners. One code path for both layouts: the single process (main.ts) and each
 * resolver process of `dns.workers` > 1 (cluster/worker.ts), so both answer exactly alike.
 *
 * In a cluster worker the listeners' binds go through node:cluster (the primary holds each
 * socket and shares it); the upstream client sockets bind `exclusive` (udp-client.ts), so each
 * worker gets replies to its own queries.
 */
import type { Logger } from 'pino';
import type { Config } from './config/types.js';
import { createClientAcl, type ClientAcl } from './dns/acl.js';
import type { BlockEventSink } from './dns/block-event.js';
import { createResolver, type Resolver } from './dns/resolver.js';
import { createRateLimitGate, createRateLimiter, type RateLimitGate } from './dns/rate-limit.js';
import { startOnOnePort } from './dns/one-port.js';
import { startTcpListener, type TcpListener } from './dns/tcp-server.js';
import { startUdpListener, type UdpListener } from './dns/udp-server.js';
import { createDnsCache, type DnsCache } from './cache/dns-cache.js';
import { createUpstreamPool, type UpstreamPool } from './upstream/pool.js';
import type { DomainMatcher } from './blocklist/matcher.js';
import type { IpBlocklist } from './blocklist/ip-blocklist.js';
import type { QueryHistorySink } from './store/history-recorder.js';
import { createLatencyRecorder, type LatencyRecorder } from './admin/metrics.js';
import type { HostPort } from './net/address.js';
import type { StartedResources } from './started-resources.js';
import { blockTemplateOf } from './reload.js';

/** Everything that answers queries, before any socket is open. */
export interface DnsCore {
  readonly acl: ClientAcl;
  readonly cache: DnsCache;
  readonly upstream: UpstreamPool;
  readonly resolver: Resolver;
  readonly latency: LatencyRecorder;
  /** Absent when dns.rateLimit.qps is 0. */
  readonly rateLimit: RateLimitGate | undefined;
}

export function createDnsCore(options: {
  config: Config;
  log: Logger;
  matcher: DomainMatcher;
  /** Response-IP blocking (ip lists, learned pool addresses). */
  ipBlocklist: IpBlocklist;
  events: BlockEventSink;
  resources: StartedResources;
  /** history.enabled: notes each query answered from the cache or forwarded (retro-hunts). */
  history?: QueryHistorySink | undefined;
  clock?: (() => number) | undefined;
}): DnsCore {
  const { config, log, resources, clock } = options;
  const cache = createDnsCache(config.cache);
  const latency = createLatencyRecorder();
  const upstream = createUpstreamPool({
    upstreams: config.upstreams,
    timeoutMs: config.upstreamTimeoutMs,
    log,
    observeRtt: latency.observeUpstream,
  });
  resources.add('upstream pool', () => upstream.close());
  // One ACL for the resolver (per query) and the TCP listeners (at accept).
  const acl = createClientAcl(config.dns.allowClients);
  const resolver = createResolver({
    acl,
    maxUdpPayload: config.dns.maxUdpPayload,
    ecs: config.dns.ecs,
    upstreamUdpSize: config.dns.upstreamUdpSize,
    ...(config.dns.nsid !== undefined ? { nsid: Buffer.from(config.dns.nsid, 'utf8') } : {}),
    matcher: options.matcher,
    ipBlocklist: options.ipBlocklist,
    cache,
    upstream,
    blockTemplate: blockTemplateOf(config.block),
    log,
    events: options.events,
    latency,
    ...(options.history !== undefined ? { history: options.history } : {}),
    ...(clock !== undefined ? { clock } : {}),
  });
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
  return { acl, cache, upstream, resolver, latency, rateLimit };
}

export interface DnsListeners {
  readonly udp: readonly HostPort[];
  readonly tcp: readonly HostPort[];
  stopAccepting(): void;
  /** Stops accepting and waits (bounded by the upstream timeouts) for queries in flight. */
  drain(config: Config): Promise<void>;
}

/** Opens every dns.listen address (UDP and TCP on one port); closed by `resources`. */
export async function startDnsListeners(options: {
  config: Config;
  core: DnsCore;
  log: Logger;
  resources: StartedResources;
}): Promise<DnsListeners> {
  const { config, core, log, resources } = options;
  const { resolver, acl, rateLimit } = core;
  const listeners: (UdpListener | TcpListener)[] = [];
  resources.add('dns listeners', async () => {
    await Promise.all(listeners.map((listener) => listener.close()));
  });
  for (const listen of config.dns.listen) {
    const { udp, tcp } = await startOnOnePort({
      port: listen.port,
      startUdp: () => startUdpListener({ listen, resolver, log, ...(rateLimit !== undefined ? { rateLimit } : {}) }),
      startTcp: (port) =>
        startTcpListener({
          listen: { ...listen, port },
          resolver,
          log,
          acl,
          ...(rateLimit !== undefined ? { rateLimit } : {}),
          limits: {
            idleTimeoutMs: config.dns.tcpIdleTimeoutMs,
            readTimeoutMs: config.dns.tcpReadTimeoutMs,
            firstQueryTimeoutMs: config.dns.tcpFirstQueryTimeoutMs,
            maxConnections: config.dns.tcpMaxConnections,
            maxConnectionsPerClient: config.dns.tcpMaxConnectionsPerClient,
          },
        }),
    });
    listeners.push(udp, tcp);
  }
  const stopAccepting = (): void => {
    for (const listener of listeners) listener.stopAccepting();
  };
  return {
    udp: listeners.filter((l): l is UdpListener => l.protocol === 'udp').map((l) => l.address),
    tcp: listeners.filter((l): l is TcpListener => l.protocol === 'tcp').map((l) => l.address),
    stopAccepting,
    async drain(current) {
      stopAccepting();
      const { upstreamTimeoutMs, upstreams } = current; // as last reloaded
      const drainLimitMs = upstreamTimeoutMs * (upstreams.length + 1) + 500;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        resolver.drain(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, drainLimitMs);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
