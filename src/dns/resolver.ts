/**
 * The resolver: the policy every query goes through, read in one place in `handle()`:
 *
 *   parse → ACL → block list → ANY (RFC 8482) → cache → forward (forwarder.ts: coalescing, upstream, completion;
 *   the answer's CNAMEs and A/AAAA addresses checked against the lists: cloaking, response-IP blocking)
 *
 * The cache entry is looked up before the block step so that a hit whose name and CNAME targets
 * already passed the current lists (the matcher's generation; every list change swaps the matcher)
 * skips the match.
 *
 * Rate limiting runs before this, in the listeners (rate-limit.ts's gate, shared by UDP and TCP):
 * it admits or refuses a packet before it is parsed, so a flood costs no parse and no answer.
 * Every query ends in exactly one answer or one counted drop. The blocked and cache-hit paths are
 * synchronous: no await, closure, timer or JSON; only a cache miss allocates a waiter record.
 */
import type { Logger } from 'pino';
import type { ClientAcl } from './acl.js';
import type { BlockEventSink, Protocol } from './block-event.js';
import { createForwarder, type AnswerLatencySink, type CloakCheck, type IpCheck } from './forwarder.js';
import { addressText } from '../net/cidr-text.js';
import { createResponder } from './responder.js';
import { sumCounters, zeroCounters, type ResolverCounters } from './resolver-counters.js';
import type { Transport } from './transport.js';
import { ADVERTISED_UDP_PAYLOAD, EDE, QTYPE, RCODE } from '../wire/header.js';
import { buildAnyAnswer } from '../wire/answer.js';
import { ecsKeySuffix, type EcsPolicy } from '../wire/edns-options.js';
import { PARSE, createParsedQuery, parseQuery, type ParseOutcome, type ParsedQuery } from '../wire/query.js';
import type { BlockAnswerTemplate } from '../wire/block-answer.js';
import type { CacheEntry, DnsCache } from '../cache/dns-cache.js';
// Types only: the matcher is built by blocklist/ and handed in; dns/ never calls into blocklist/.
import type { DomainMatcher } from '../blocklist/matcher.js';
import type { IpBlocklist } from '../blocklist/ip-blocklist.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { QueryHistorySink } from '../store/history-recorder.js';

export interface Resolver {
  handle(query: Buffer, address: string, port: number, transport: Transport): void;
  /** Swaps in new lists; queries already being answered keep the matcher they started with. */
  setMatcher(matcher: DomainMatcher): void;
  /** Swaps in the addresses forwarded answers are checked against (ip lists, learned pool IPs). */
  setIpBlocklist(blocklist: IpBlocklist): void;
  readonly ipBlocklist: IpBlocklist | undefined;
  /** Block answers from now on follow `template` (block.* changed by a reload). */
  setBlockTemplate(template: BlockAnswerTemplate): void;
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
  /** Response-IP blocking; none by default. */
  ipBlocklist?: IpBlocklist;
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
  /** UDP answers never exceed this (dns.maxUdpPayload). Default 1232 (DNS Flag Day 2020). */
  maxUdpPayload?: number;
  /** The payload size poolsink advertises to upstreams (dns.upstreamUdpSize). Default 1232. */
  upstreamUdpSize?: number;
  /** NSID (RFC 5001) sent to clients that ask for one (dns.nsid); none when undefined. */
  nsid?: Buffer;
  /** `strip` (default): Client Subnet is not forwarded; `forward`: it is, and is part of the cache key. */
  ecs?: EcsPolicy;
  /** Told of each query answered from the cache or forwarded (history.enabled: retro-hunts); allocation-free for repeats. */
  history?: QueryHistorySink;
}

const PROHIBITED_TEXT = Buffer.from('client not allowed', 'utf8');

export function createResolver(deps: ResolverDeps): Resolver {
  const { acl, cache, upstream, blockTemplate, log } = deps;
  const clock = deps.clock ?? Date.now;
  let matcher = deps.matcher;
  /** Bumped by every matcher swap; a cache entry that passed this generation skips the match. */
  let matcherGeneration = 1;
  let ipBlocklist = deps.ipBlocklist;
  const parsed = createParsedQuery();
  const udpCounters = zeroCounters();
  const tcpCounters = zeroCounters();
  const countersByProtocol: Record<Protocol, ResolverCounters> = { udp: udpCounters, tcp: tcpCounters };

  const responder = createResponder({
    blockTemplate,
    countersByProtocol,
    clock,
    log,
    events: deps.events,
    maxUdpPayload: deps.maxUdpPayload ?? ADVERTISED_UDP_PAYLOAD,
  });
  const { deliver, answerError, answerBlocked, recordEvent, limitFor } = responder;

  /** The first CNAME target that the lists block (CNAME cloaking), if any. */
  const cloakCheck: CloakCheck = (targets) => {
    for (const target of targets) {
      const verdict = matcher.match(target);
      if (verdict.kind === 'block' && verdict.mode === 'block') return { verdict, via: target };
    }
    return undefined;
  };

  /**
   * The first A/AAAA address of a forwarded answer that an ip list (or the learned set) covers; a
   * block-mode list's address is preferred over an alert-mode one. The allowlist wins for the qname.
   */
  const ipCheck: IpCheck = (body, facts, qname) => {
    const blocklist = ipBlocklist;
    if (blocklist === undefined || blocklist.size === 0) return undefined;
    let found:
      | { verdict: NonNullable<ReturnType<IpBlocklist['verdictOf']>>; offset: number; length: number }
      | undefined;
    const groups: readonly [readonly number[], number][] = [
      [facts.ipv4Offsets, 4],
      [facts.ipv6Offsets, 16],
    ];
    for (const [offsets, length] of groups) {
      for (const offset of offsets) {
        const tag = length === 4 ? blocklist.set.matchV4(body, offset) : blocklist.set.matchV6(body, offset);
        const verdict = tag < 0 ? undefined : blocklist.verdictOf(tag);
        if (
          verdict === undefined ||
          (found !== undefined && (found.verdict.mode === 'block' || verdict.mode !== 'block'))
        )
          continue;
        found = { verdict, offset, length };
      }
    }
    if (found === undefined || matcher.isAllowlisted(qname)) return undefined;
    return { verdict: found.verdict, via: addressText(body, found.offset, found.length) };
  };

  const forwarder = createForwarder({
    cache,
    upstream,
    responder,
    cloakCheck,
    ipCheck,
    countersByProtocol,
    clock,
    log,
    maxWaitersPerQuery: deps.maxWaitersPerQuery ?? 1_000,
    maxPending: deps.maxPending ?? 20_000,
    latency: deps.latency,
    ecs: deps.ecs ?? 'strip',
    upstreamUdpSize: deps.upstreamUdpSize ?? ADVERTISED_UDP_PAYLOAD,
  });
  const nsid = deps.nsid;
  const ecsInKey = deps.ecs === 'forward';
  const history = deps.history;

  /** The pipeline. Each step either answers (and returns) or passes the query on. */
  function handle(query: Buffer, address: string, port: number, transport: Transport): void {
    const counters = countersByProtocol[transport.protocol];
    counters.queries++;
    // 1. Parse: header, question, OPT; anything else is answered or dropped here.
    const outcome = parseQuery(query, parsed);
    if (parsed.nsidRequested) parsed.replyNsid = nsid; // every answer's OPT reads it (answer.ts)
    if (outcome !== PARSE.OK) {
      answerUnparsed(outcome, query, address, port, transport, counters);
      return;
    }
    // 2. ACL: clients outside the allowed networks are refused.
    if (!acl.allows(address)) {
      counters.refused++;
      answerError(query, parsed, RCODE.REFUSED, address, port, transport, EDE.PROHIBITED, PROHIBITED_TEXT);
      return;
    }
    // 3. Block lists: a block answers now; an alert is recorded and the query goes on. A cached
    //    answer whose name and CNAME targets passed these same lists before is not matched again
    //    (so the cache entry is looked up first: the matcher is only swapped, never changed).
    const now = clock();
    const key = ecsInKey ? parsed.questionKey + ecsKeySuffix(query, parsed) : parsed.questionKey;
    const entry = cache.lookup(key, now);
    let alerted = false;
    if (entry === undefined || entry.passedListsGeneration !== matcherGeneration) {
      const verdict = matcher.match(parsed.qname);
      if (verdict.kind === 'block') {
        if (verdict.mode === 'block') {
          answerBlocked(verdict, query, parsed, address, port, transport, undefined);
          return;
        }
        alerted = true;
        counters.alerted++;
        recordEvent(verdict, parsed, address, port, transport, 'alerted', undefined);
      }
    }
    // 4. ANY gets a synthesized minimal answer (RFC 8482), never forwarded: it is an amplifier.
    if (parsed.qtype === QTYPE.ANY) {
      deliver(buildAnyAnswer(query, parsed), parsed, address, port, transport);
      return;
    }
    // 5. Cache (the query history, when kept, notes each query answered from here on).
    history?.note(address, parsed.qname, now);
    if (entry !== undefined) {
      answerFromCache(entry, alerted, query, parsed, address, port, transport, now);
      return;
    }
    // 6. Forward (or join the same question already in flight).
    forwarder.forward(key, query, parsed, address, port, transport);
  }

  function answerUnparsed(
    outcome: ParseOutcome,
    query: Buffer,
    address: string,
    port: number,
    transport: Transport,
    counters: ResolverCounters,
  ): void {
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

  function answerFromCache(
    entry: CacheEntry,
    alerted: boolean,
    query: Buffer,
    parsedQuery: ParsedQuery,
    address: string,
    port: number,
    transport: Transport,
    nowMs: number,
  ): void {
    if (entry.passedListsGeneration !== matcherGeneration) {
      if (entry.cnameTargets.length > 0) {
        const cloak = cloakCheck(entry.cnameTargets);
        if (cloak !== undefined) {
          countersByProtocol[transport.protocol].cloaked++;
          answerBlocked(cloak.verdict, query, parsedQuery, address, port, transport, cloak.via);
          return;
        }
      }
      // An alert is recorded per query, so only a name no list matched skips the lists next time.
      if (!alerted) entry.passedListsGeneration = matcherGeneration;
    }
    countersByProtocol[transport.protocol].cached++;
    const limit = limitFor(parsedQuery, transport);
    deliver(cache.answer(entry, query, parsedQuery, nowMs, undefined, limit), parsedQuery, address, port, transport);
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
      matcherGeneration += 1;
    },
    setIpBlocklist(next) {
      ipBlocklist = next;
    },
    get ipBlocklist() {
      return ipBlocklist;
    },
    get matcher() {
      return matcher;
    },
    setBlockTemplate: responder.setBlockTemplate,
    get counters() {
      return sumCounters(udpCounters, tcpCounters);
    },
    countersByProtocol,
    get pending() {
      return forwarder.pending;
    },
    drain() {
      return forwarder.drain();
    },
  };
}
