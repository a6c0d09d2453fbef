/**
 * The composition root: config → logger → lists → cache → upstream → resolver → listeners.
 * Owns start-up order and graceful shutdown; nothing else wires modules together.
 */
import type { Logger } from 'pino';
import type { Config } from './config/types.js';
import { createClientAcl } from './dns/acl.js';
import { createResolver, type BlockEventSink, type Resolver } from './dns/resolver.js';
import { startTcpListener, type TcpListener } from './dns/tcp-server.js';
import { startUdpListener, type UdpListener } from './dns/udp-server.js';
import { createBlockAnswerTemplate } from './dns/wire.js';
import { createDnsCache, type DnsCache } from './cache/dns-cache.js';
import { createUpstreamPool, type UpstreamPool } from './upstream/pool.js';
import { loadLists, type ListsSnapshot } from './blocklist/lists.js';
import { formatHostPort, ipToBytes, type HostPort } from './net/address.js';

export interface Poolsink {
  readonly config: Config;
  readonly resolver: Resolver;
  readonly cache: DnsCache;
  readonly upstream: UpstreamPool;
  readonly lists: ListsSnapshot;
  /** Bound addresses, in listen order (real ports when configured with port 0). */
  readonly udp: readonly HostPort[];
  readonly tcp: readonly HostPort[];
  /** Graceful stop: stop accepting, answer what is in flight (bounded wait), close everything. */
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  events?: BlockEventSink;
  /** The resolver's clock (cache ages, event times); upstream timeouts always use real time. */
  clock?: () => number;
}

function addressBytes(address: string): Buffer {
  const bytes = ipToBytes(address);
  if (bytes === undefined) throw new Error(`not an IP address: ${address}`); // validated by config
  return bytes;
}

export async function startPoolsink(config: Config, options: StartOptions): Promise<Poolsink> {
  const { log } = options;
  const lists = await loadLists(config, log);
  const cache = createDnsCache(config.cache);
  const upstream = createUpstreamPool({
    upstreams: config.upstreams,
    timeoutMs: config.upstreamTimeoutMs,
    log,
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
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.events !== undefined ? { events: options.events } : {}),
  });

  const listeners: (UdpListener | TcpListener)[] = [];
  try {
    for (const listen of config.dns.listen) {
      const udp = await startUdpListener({ listen, resolver, log });
      listeners.push(udp);
      // TCP on the port UDP got, so "port 0" yields one port serving both.
      const tcp = await startTcpListener({
        listen: { ...listen, port: udp.address.port },
        resolver,
        log,
        limits: {
          idleTimeoutMs: config.dns.tcpIdleTimeoutMs,
          maxConnections: config.dns.tcpMaxConnections,
          maxConnectionsPerClient: config.dns.tcpMaxConnectionsPerClient,
        },
      });
      listeners.push(tcp);
    }
  } catch (err: unknown) {
    await Promise.all(listeners.map((l) => l.close()));
    await upstream.close();
    throw err;
  }

  const udp = listeners.filter((l): l is UdpListener => l.protocol === 'udp').map((l) => l.address);
  const tcp = listeners.filter((l): l is TcpListener => l.protocol === 'tcp').map((l) => l.address);
  log.info(
    {
      listen: udp.map(formatHostPort),
      upstreams: config.upstreams.map(formatHostPort),
      lists: lists.lists.map((l) => ({ name: l.name, entries: l.entries, skipped: l.skipped, error: l.error })),
      blockedDomains: lists.matcher.size,
      allowlist: lists.matcher.allowlistSize,
      blockResponse: config.block.response,
    },
    'poolsink started',
  );

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
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
    log.info({ counters: resolver.counters }, 'poolsink stopped');
  }

  return {
    config,
    resolver,
    cache,
    upstream,
    lists,
    udp,
    tcp,
    close() {
      closing ??= close();
      return closing;
    },
  };
}
