/**
 * The resolver policy, run for every query: parse → ACL → block → cache → upstream.
 * Every query ends in exactly one answer or one counted drop. The blocked and cache-hit paths are
 * synchronous: no await, closure, timer or JSON; only a cache miss allocates a waiter record.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ClientAcl } from './acl.js';
import type { BlockAction, BlockEvent, BlockEventSink, Protocol } from './block-event.js';
import { sumCounters, zeroCounters, type ResolverCounters } from './resolver-counters.js';
import type { Transport } from './transport.js';
import { EDE, RCODE, HEADER_LEN, writeId } from '../wire/header.js';
import { PARSE, createParsedQuery, parseQuery, type ParsedQuery } from '../wire/query.js';
import { buildErrorResponse, buildTruncated } from '../wire/answer.js';
import { blockReasonText, buildBlockResponse, type BlockAnswerTemplate } from '../wire/block-answer.js';
import { inspectResponse } from '../wire/inspect-response.js';
import { cacheKey, type CacheEntry, type DnsCache } from '../cache/dns-cache.js';
import type { DomainMatcher, Verdict } from '../blocklist/matcher.js';
import type { UpstreamPool, UpstreamResult } from '../upstream/pool.js';

export interface Resolver {
  handle(query: Buffer, address: string, port: number, transport: Transport): void;
  /** Swaps in new lists; queries already being answered keep the matcher they started with. */
  setMatcher(matcher: DomainMatcher): void;
  readonly matcher: DomainMatcher;
  /** Totals over both transports (summed when read). */
  readonly counters: Readonly<ResolverCounters>;
  readonly countersByProtocol: Readonly<Record<Protocol, Readonly<ResolverCounters>>>;
  /** Queries waiting on an upstream. */
  readonly pending: number;
  /** Resolves once every query waiting on an upstream has been answered. */
  drain(): Promise<void>;
}

export interface ResolverDeps {
  acl: ClientAcl;
  matcher: DomainMatcher;
  cache: DnsCache;
  upstream: UpstreamPool;
  blockTemplate: BlockAnswerTemplate;
  log: Logger;
  clock?: () => number;
  events?: BlockEventSink;
  /** Clients waiting on one in-flight upstream query before more get SERVFAIL (memory bound). */
  maxWaitersPerQuery?: number;
  /** Queries waiting on upstreams in all before more get SERVFAIL (memory bound). */
  maxPending?: number;
  /** Told how long each forwarded query took to answer (not called on the blocked and cached paths). */
  latency?: AnswerLatencySink;
}

export type ForwardedOutcome = 'answered' | 'stale' | 'servfail' | 'blocked';

export interface AnswerLatencySink {
  observeAnswer(seconds: number, outcome: ForwardedOutcome): void;
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
const UDP_PLAIN_LIMIT = 512;

const NO_REACHABLE_TEXT = Buffer.from('no upstream answered', 'utf8');
const PROHIBITED_TEXT = Buffer.from('client not allowed', 'utf8');

export function createResolver(deps: ResolverDeps): Resolver {
  const { acl, cache, upstream, blockTemplate, log } = deps;
  const clock = deps.clock ?? Date.now;
  const events = deps.events;
  const maxWaiters = deps.maxWaitersPerQuery ?? 1_000;
  const maxPending = deps.maxPending ?? 20_000;
  const debug = log.isLevelEnabled('debug');
  let matcher = deps.matcher;
  const parsed = createParsedQuery();
  const inflight = new Map<string, Waiter[]>();
  const reasonTexts = new Map<string, Buffer>();
  let pendingCount = 0;
  let drainWaiters: (() => void)[] = [];

  const udpCounters = zeroCounters();
  const tcpCounters = zeroCounters();
  const countersByProtocol: Record<Protocol, ResolverCounters> = { udp: udpCounters, tcp: tcpCounters };
  const latency = deps.latency;
  
  function reasonText(list: string): Buffer {
    let text = reasonTexts.get(list);
    if (text === undefined) {
      text = blockReasonText(list);
      reasonTexts.set(list, text);
    }
    return text;
  }

  /** Sends, truncating for UDP clients whose payload size the answer exceeds. */
  function deliver(response: Buffer, p: ParsedQuery, address: string, port: number, transport: Transport): void {
    if (transport.protocol === 'udp') {
      const limit = p.edns ? p.udpSize : UDP_PLAIN_LIMIT;
      if (response.length > limit) {
        countersByProtocol[transport.protocol].truncated++;
        transport.send(buildTruncated(response, p), address, port);
        return;
      }
    }
    transport.send(response, address, port);
  }

  function recordEvent(
    verdict: Extract<Verdict, { kind: 'block' }>,
    p: ParsedQuery,
    address: string,
    port: number,
    transport: Transport,
    action: BlockAction,
    via: string | undefined,
  ): void {
    if (events === undefined) return;
    const event: BlockEvent = {
      timeMs: clock(),
      clientIp: address,
      clientPort: port,
      protocol: transport.protocol,
      qname: p.qname,
      qtype: p.qtype,
      list: verdict.list,
      rule: verdict.rule,
      action,
      answer: action === 'blocked' ? blockTemplate.kind : 'forwarded',
      ...(via !== undefined ? { via } : {}),
    };
    events.record(event);
  }

  function answerBlocked(
    verdict: Extract<Verdict, { kind: 'block' }>,
    query: Buffer,
    p: ParsedQuery,
    address: string,
    port: number,
    transport: Transport,
    via: string | undefined,
  ): void {
    countersByProtocol[transport.protocol].blocked++;
    transport.send(buildBlockResponse(query, p, blockTemplate, reasonText(verdict.list)), address, port);
    recordEvent(verdict, p, address, port, transport, 'blocked', via);
    if (debug) log.debug({ qname: p.qname, client: address, list: verdict.list, rule: verdict.rule, via }, 'blocked');
  }

  /** The first CNAME target that the lists block (CNAME cloaking), if any. */
  function cloakVerdict(targets: readonly string[]): { verdict: Extract<Verdict, { kind: 'block' }>; via: string } | undefined {
    for (const target of targets) {
      const verdict = matcher.match(target);
      if (verdict.kind === 'block' && verdict.mode === 'block') return { verdict, via: target };
    }
    return undefined;
  }

  function answerFromCache(entry: CacheEntry, query: Buffer, p: ParsedQuery, address: string, port: number, transport: Transport): void {
    if (entry.cnameTargets.length > 0) {
      const cloak = cloakVerdict(entry.cnameTargets);
      if (cloak !== undefined) {
        countersByProtocol[transport.protocol].cloaked++;
        answerBlocked(cloak.verdict, query, p, address, port, transport, cloak.via);
        return;
      }
    }
    countersByProtocol[transport.protocol].cached++;
    deliver(cache.answer(entry, query, p, clock()), p, address, port, transport);
  }

  function answerError(query: Buffer, p: ParsedQuery, rcode: number, address: string, port: number, transport: Transport, edeCode = -1, edeText?: Buffer): void {
    transport.send(buildErrorResponse(query, p, rcode, edeCode, edeText), address, port);
  }

  function handle(query: Buffer, address: string, port: number, transport: Transport): void {
    const counters = countersByProtocol[transport.protocol];
    counters.queries++;
    const outcome = parseQuery(query, parsed);
    if (outcome !== PARSE.OK) {
      switch (outcome) {
        case PARSE.DROP:
          counters.dropped++;
          transport.drop();
          return;
        case PARSE.NOTIMP:
          counters.notimp++;
          answerError(query, parsed, RCODE.NOTIMP, address, port, transport);
          return;
        case PARSE.BADVERS:
          counters.formerr++;
          answerError(query, parsed, RCODE.BADVERS, address, port, transport);
          return;
        default:
          counters.formerr++;
          answerError(query, parsed, RCODE.FORMERR, address, port, transport);
          return;
      }
    }
    if (!acl.allows(address)) {
      counters.refused++;
      answerError(query, parsed, RCODE.REFUSED, address, port, transport, EDE.PROHIBITED, PROHIBITED_TEXT);
      return;
    }
    const verdict = matcher.match(parsed.qname);
    if (verdict.kind === 'block') {
      if (verdict.mode === 'block') {
        answerBlocked(verdict, query, parsed, address, port, transport, undefined);
        return;
      }
      counters.alerted++;
      recordEvent(verdict, parsed, address, port, transport, 'alerted', undefined);
    }
    const key = cacheKey(parsed);
    const entry = cache.lookup(key, clock());
    if (entry !== undefined) {
      answerFromCache(entry, query, parsed, address, port, transport);
      return;
    }
    forward(key, query, address, port, transport);
  }

  function forward(key: string, query: Buffer, address: string, port: number, transport: Transport): void {
    const counters = countersByProtocol[transport.protocol];
    const waiter: Waiter = { query, parsed: { ...parsed }, address, port, transport, arrivedMs: latency === undefined ? 0 : performance.now() };
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
    upstream.query(query, waiter.parsed.questionEnd, (result) => complete(key, result));
  }

  function observe(w: Waiter, outcome: ForwardedOutcome): void {
    if (latency !== undefined) latency.observeAnswer((performance.now() - w.arrivedMs) / 1000, outcome);
  }

  function complete(key: string, result: UpstreamResult): void {
    const waiters = inflight.get(key) ?? [];
    inflight.delete(key);
    try {
      const now = clock();
      if (result.kind === 'answer') {
        const facts = inspectResponse(result.response);
        if (facts !== undefined) {
          cache.store(key, result.response, facts, now);
          const cloak = facts.cnameTargets.length > 0 ? cloakVerdict(facts.cnameTargets) : undefined;
          for (const w of waiters) {
            if (cloak !== undefined) {
              countersByProtocol[w.transport.protocol].cloaked++;
              answerBlocked(cloak.verdict, w.query, w.parsed, w.address, w.port, w.transport, cloak.via);
              observe(w, 'blocked');
              continue;
            }
            const out = Buffer.allocUnsafe(result.response.length);
            result.response.copy(out);
            writeId(out, w.parsed.id);
            // The client's own letter case in the question (the key matched it case-insensitively).
            w.query.copy(out, HEADER_LEN, HEADER_LEN, w.parsed.questionEnd);
            deliver(out, w.parsed, w.address, w.port, w.transport);
            observe(w, 'answered');
          }
          return;
        }
        log.warn({ upstream: result.upstream }, 'malformed upstream answer');
      } else if (debug) {
        log.debug({ reason: result.reason, detail: result.detail }, 'upstream failed');
      }
      const stale = cache.lookupStale(key, now);
      for (const w of waiters) {
        if (stale !== undefined) {
          countersByProtocol[w.transport.protocol].stale++;
          deliver(cache.answer(stale, w.query, w.parsed, now, STALE_TTL_SEC), w.parsed, w.address, w.port, w.transport);
          observe(w, 'stale');
        } else {
          countersByProtocol[w.transport.protocol].servfail++;
          answerError(w.query, w.parsed, RCODE.SERVFAIL, w.address, w.port, w.transport, EDE.NO_REACHABLE_AUTHORITY, NO_REACHABLE_TEXT);
          observe(w, 'servfail');
        }
      }
    } catch (err: unknown) {
      // An unexpected failure must not lose the clients: each still gets one answer.
      log.error({ err }, 'answering forwarded query failed');
      for (const w of waiters) {
        try {
          answerError(w.query, w.parsed, RCODE.SERVFAIL, w.address, w.port, w.transport);
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
    handle(query, address, port, transport) {
      try {
        handle(query, address, port, transport);
      } catch (err: unknown) {
        // Never a crash at the DNS boundary: answer SERVFAIL when the question was read.
        countersByProtocol[transport.protocol].servfail++;
        log.error({ err, client: address }, 'query handling failed');
        try {
          if (parsed.hasQuestion) answerError(query, parsed, RCODE.SERVFAIL, address, port, transport);
          else transport.drop();
        } catch (sendErr: unknown) {
          log.error({ err: sendErr }, 'sending SERVFAIL failed');
        }
      }
    },
    setMatcher(next) {
      matcher = next;
    },
    get matcher() {
      return matcher;
    },
    get counters() {
      return sumCounters(udpCounters, tcpCounters);
    },
    countersByProtocol,
    get pending() {
      return pendingCount;
    },
    drain() {
      if (pendingCount === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
  };
}
