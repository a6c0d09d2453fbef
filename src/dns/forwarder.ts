/**
 * Forwarding on a cache miss: request coalescing (clients asking the same question while it is in
 * flight wait on one upstream query), the memory bounds on waiting clients, and completion: each
 * waiting client gets the upstream answer (or a block when a CNAME in it is listed, or a stale
 * cached answer, or SERVFAIL). Only this path allocates per query: one waiter record (the
 * upstream callback is one function for all queries, handed the cache key back as its context).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Protocol } from './block-event.js';
import type { BlockVerdict, Responder } from './responder.js';
import type { ResolverCounters } from './resolver-counters.js';
import type { Transport } from './transport.js';
import { EDE, RCODE } from '../wire/header.js';
import { buildClientAnswer, withoutOpt } from '../wire/client-answer.js';
import type { ResponseFacts } from '../wire/inspect-response.js';
import type { ParsedQuery } from '../wire/query.js';
import { queryForUpstream, type EcsPolicy } from '../wire/edns-options.js';
import type { DnsCache } from '../cache/dns-cache.js';
import type { UpstreamPool, UpstreamResult } from '../upstream/pool.js';

export type ForwardedOutcome = 'answered' | 'stale' | 'servfail' | 'blocked';

export interface AnswerLatencySink {
  observeAnswer(seconds: number, outcome: ForwardedOutcome): void;
}

/** The first CNAME target the lists block (CNAME cloaking), or undefined. */
export type CloakCheck = (targets: readonly string[]) => { verdict: BlockVerdict; via: string } | undefined;

/**
 * Response-IP blocking: the list entry covering an A/AAAA address of the answer `body` to `qname`,
 * and that address as text; undefined when none does (or the allowlist covers qname).
 */
export type IpCheck = (
  body: Buffer,
  facts: ResponseFacts,
  qname: string,
) => { verdict: BlockVerdict; via: string } | undefined;

export interface Forwarder {
  /**
   * Forwards the query whose cache key is `key`, or joins the clients already waiting on it.
   * `parsed` is copied: the caller may reuse it as soon as this returns.
   */
  forward(key: string, query: Buffer, parsed: ParsedQuery, address: string, port: number, transport: Transport): void;
  /** Queries waiting on an upstream. */
  readonly pending: number;
  /** Resolves once every query waiting on an upstream has been answered. */
  drain(): Promise<void>;
}

export interface ForwarderDeps {
  cache: DnsCache;
  upstream: UpstreamPool;
  responder: Responder;
  cloakCheck: CloakCheck;
  ipCheck: IpCheck;
  countersByProtocol: Record<Protocol, ResolverCounters>;
  clock: () => number;
  log: Logger;
  /** Clients waiting on one in-flight upstream query before more get SERVFAIL (memory bound). */
  maxWaitersPerQuery: number;
  /** Queries waiting on upstreams in all before more get SERVFAIL (memory bound). */
  maxPending: number;
  latency: AnswerLatencySink | undefined;
  /** Which client EDNS options reach the upstream (dns.ecs); cookies never do. */
  ecs: EcsPolicy;
  /** The payload size poolsink's own OPT advertises to upstreams (dns.upstreamUdpSize). */
  upstreamUdpSize: number;
}

/** A client waiting for a forwarded answer. */
interface Waiter {
  readonly query: Buffer;
  readonly parsed: ParsedQuery;
  readonly address: string;
  readonly port: number;
  readonly transport: Transport;
  /** performance.now() when the query arrived. */
  readonly arrivedMs: number;
}

const STALE_TTL_SEC = 30; // RFC 8767 §4
const NO_REACHABLE_TEXT = Buffer.from('no upstream answered', 'utf8');

export function createForwarder(deps: ForwarderDeps): Forwarder {
  const { cache, upstream, responder, cloakCheck, ipCheck, countersByProtocol, clock, log, latency } = deps;
  const { deliver, answerError, answerBlocked, recordEvent, limitFor } = responder;
  const maxWaiters = deps.maxWaitersPerQuery;
  const maxPending = deps.maxPending;
  const debug = log.isLevelEnabled('debug');
  const inflight = new Map<string, Waiter[]>();
  let pendingCount = 0;
  let drainWaiters: (() => void)[] = [];

  function forward(
    key: string,
    query: Buffer,
    parsed: ParsedQuery,
    address: string,
    port: number,
    transport: Transport,
  ): void {
    const counters = countersByProtocol[transport.protocol];
    const arrivedMs = latency === undefined ? 0 : performance.now();
    const waiter: Waiter = { query, parsed: { ...parsed }, address, port, transport, arrivedMs };
    const waiting = inflight.get(key);
    if (pendingCount >= maxPending || (waiting !== undefined && waiting.length >= maxWaiters)) {
      counters.servfail++;
      answerError(query, waiter.parsed, RCODE.SERVFAIL, address, port, transport);
      return;
    }
    if (waiting !== undefined) {
      counters.coalesced++;
      waiting.push(waiter);
      pendingCount++;
      return;
    }
    inflight.set(key, [waiter]);
    pendingCount++;
    counters.forwarded++;
    // poolsink's own OPT, not the client's (edns-options.ts), on the miss path only.
    const wire = queryForUpstream(query, waiter.parsed, deps.ecs, deps.upstreamUdpSize);
    upstream.query(wire, waiter.parsed.questionEnd, complete, key);
  }

  function observe(waiter: Waiter, outcome: ForwardedOutcome): void {
    if (latency !== undefined) latency.observeAnswer((performance.now() - waiter.arrivedMs) / 1000, outcome);
  }

  /** The upstream's answer (or failure) for the question `key`: one function for all queries. */
  function complete(result: UpstreamResult, key: string): void {
    const waiters = inflight.get(key) ?? [];
    inflight.delete(key);
    try {
      const now = clock();
      if (result.kind === 'answer') {
        const inspected = result.facts; // read once, by the pool's reply check
        if (inspected !== undefined) {
          // The upstream's OPT belongs to that hop: each client gets its own (client-answer.ts).
          const { body, facts } = withoutOpt(result.response, inspected);
          const cloak = facts.cnameTargets.length > 0 ? cloakCheck(facts.cnameTargets) : undefined;
          const first = waiters[0];
          // Response-IP blocking: a block is not cached (a cached answer is not checked again); an alert is.
          const ipHit =
            cloak === undefined && first !== undefined && facts.ipv4Offsets.length + facts.ipv6Offsets.length > 0
              ? ipCheck(body, facts, first.parsed.qname)
              : undefined;
          const ipBlock = ipHit !== undefined && ipHit.verdict.mode === 'block' ? ipHit : undefined;
          if (ipBlock === undefined) cache.store(key, body, facts, now);
          for (const waiter of waiters) {
            const { query, parsed, address, port, transport } = waiter;
            if (cloak !== undefined) {
              countersByProtocol[transport.protocol].cloaked++;
              answerBlocked(cloak.verdict, query, parsed, address, port, transport, cloak.via);
              observe(waiter, 'blocked');
              continue;
            }
            if (ipHit !== undefined) {
              if (ipBlock !== undefined) {
                answerBlocked(ipBlock.verdict, query, parsed, address, port, transport, ipBlock.via);
                observe(waiter, 'blocked');
                continue;
              }
              countersByProtocol[transport.protocol].alerted++;
              recordEvent(ipHit.verdict, parsed, address, port, transport, 'alerted', ipHit.via);
            }
            // The client's ID, letter case in the question, own OPT; fitted to its size.
            const out = buildClientAnswer(body, facts, query, parsed, limitFor(parsed, transport));
            deliver(out, parsed, address, port, transport);
            observe(waiter, 'answered');
          }
          return;
        }
        log.warn({ upstream: result.upstream }, 'malformed upstream answer');
      } else if (debug) {
        log.debug({ reason: result.reason, detail: result.detail }, 'upstream failed');
      }
      const stale = cache.lookupStale(key, now);
      for (const waiter of waiters) {
        const { query, parsed, address, port, transport } = waiter;
        if (stale !== undefined) {
          countersByProtocol[transport.protocol].stale++;
          const out = cache.answer(stale, query, parsed, now, STALE_TTL_SEC, limitFor(parsed, transport));
          deliver(out, parsed, address, port, transport);
          observe(waiter, 'stale');
        } else {
          countersByProtocol[transport.protocol].servfail++;
          const edeCode = EDE.NO_REACHABLE_AUTHORITY;
          answerError(query, parsed, RCODE.SERVFAIL, address, port, transport, edeCode, NO_REACHABLE_TEXT);
          observe(waiter, 'servfail');
        }
      }
    } catch (err: unknown) {
      // An unexpected failure must not lose the clients: each still gets one answer.
      log.error({ err }, 'answering forwarded query failed');
      for (const waiter of waiters) {
        try {
          answerError(waiter.query, waiter.parsed, RCODE.SERVFAIL, waiter.address, waiter.port, waiter.transport);
        } catch (sendErr: unknown) {
          log.error({ err: sendErr }, 'sending SERVFAIL failed');
        }
      }
    } finally {
      pendingCount -= waiters.length;
      if (pendingCount === 0 && drainWaiters.length > 0) {
        const resolvers = drainWaiters;
        drainWaiters = [];
        for (const resolve of resolvers) resolve();
      }
    }
  }

  return {
    forward,
    get pending() {
      return pendingCount;
    },
    drain() {
      if (pendingCount === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
  };
}
