/**
 * How the resolver's answers leave: truncation for UDP clients, error answers, and block answers
 * with their event and counter. Shared by the pipeline (resolver.ts) and the forwarder, so a blocked
 * query and a cloaked upstream answer are answered and recorded the same way. Synchronous and
 * allocation-free apart from the answer buffer itself: this runs on the blocked and cache-hit paths.
 */
import type { Logger } from 'pino';
import type { BlockAction, BlockEvent, BlockEventSink, Protocol } from './block-event.js';
import type { ResolverCounters } from './resolver-counters.js';
import type { Transport } from './transport.js';
import { buildErrorResponse, buildTruncated } from '../wire/answer.js';
import { MAX_MESSAGE_LEN } from '../wire/client-answer.js';
import { isTruncated } from '../wire/header.js';
import { blockReasonText, buildBlockResponse, type BlockAnswerTemplate } from '../wire/block-answer.js';
import type { ParsedQuery } from '../wire/query.js';
// Types only: the verdict comes from the matcher blocklist/ builds; dns/ never calls into blocklist/.
import type { Verdict } from '../blocklist/matcher.js';

export type BlockVerdict = Extract<Verdict, { kind: 'block' }>;

export interface Responder {
  /** The largest answer this client may get: its UDP size (512 without EDNS) capped by maxUdpPayload; 65535 over TCP. */
  limitFor(parsed: ParsedQuery, transport: Transport): number;
  /** Sends, truncating for UDP clients whose payload size the answer exceeds. */
  deliver(response: Buffer, parsed: ParsedQuery, address: string, port: number, transport: Transport): void;
  /** A record-less answer (REFUSED, SERVFAIL, FORMERR …), with an Extended DNS Error when edeCode >= 0. */
  answerError(
    query: Buffer,
    parsed: ParsedQuery,
    rcode: number,
    address: string,
    port: number,
    transport: Transport,
    edeCode?: number,
    edeText?: Buffer,
  ): void;
  /** Answers per the block template, counts it, and records the event (`via`: the cloaking CNAME). */
  answerBlocked(
    verdict: BlockVerdict,
    query: Buffer,
    parsed: ParsedQuery,
    address: string,
    port: number,
    transport: Transport,
    via: string | undefined,
  ): void;
  /** Records a block event without answering (alert mode: the query is still forwarded). */
  recordEvent(
    verdict: BlockVerdict,
    parsed: ParsedQuery,
    address: string,
    port: number,
    transport: Transport,
    action: BlockAction,
    via: string | undefined,
  ): void;
  /** Block answers from now on follow `template` (a configuration reload). */
  setBlockTemplate(template: BlockAnswerTemplate): void;
}

export interface ResponderDeps {
  blockTemplate: BlockAnswerTemplate;
  countersByProtocol: Record<Protocol, ResolverCounters>;
  clock: () => number;
  log: Logger;
  events: BlockEventSink | undefined;
  /** UDP answers never exceed this, whatever the client advertises (dns.maxUdpPayload; amplification). */
  maxUdpPayload: number;
}

const UDP_PLAIN_LIMIT = 512;

export function createResponder(deps: ResponderDeps): Responder {
  const { countersByProtocol, clock, log, events, maxUdpPayload } = deps;
  let blockTemplate = deps.blockTemplate;
  const reasonTexts = new Map<string, Buffer>();

  function reasonText(list: string): Buffer {
    let text = reasonTexts.get(list);
    if (text === undefined) {
      text = blockReasonText(list);
      reasonTexts.set(list, text);
    }
    return text;
  }

  function limitFor(parsed: ParsedQuery, transport: Transport): number {
    if (transport.protocol !== 'udp') return MAX_MESSAGE_LEN;
    return parsed.edns ? Math.min(parsed.udpSize, maxUdpPayload) : UDP_PLAIN_LIMIT;
  }

  function deliver(response: Buffer, parsed: ParsedQuery, address: string, port: number, transport: Transport): void {
    if (transport.protocol === 'udp') {
      if (response.length > limitFor(parsed, transport)) {
        countersByProtocol[transport.protocol].truncated++;
        transport.send(buildTruncated(response, parsed), address, port);
        return;
      }
      // Already fitted to the client (client-answer.ts) with TC set: count it all the same.
      if (isTruncated(response)) countersByProtocol[transport.protocol].truncated++;
    }
    transport.send(response, address, port);
  }

  function recordEvent(
    verdict: BlockVerdict,
    parsed: ParsedQuery,
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
      qname: parsed.qname,
      qtype: parsed.qtype,
      list: verdict.list,
      rule: verdict.rule,
      action,
      answer: action === 'blocked' ? blockTemplate.kind : 'forwarded',
      ...(via !== undefined ? { via } : {}),
    };
    events.record(event);
  }

  function answerBlocked(
    verdict: BlockVerdict,
    query: Buffer,
    parsed: ParsedQuery,
    address: string,
    port: number,
    transport: Transport,
    via: string | undefined,
  ): void {
    countersByProtocol[transport.protocol].blocked++;
    transport.send(buildBlockResponse(query, parsed, blockTemplate, reasonText(verdict.list)), address, port);
    recordEvent(verdict, parsed, address, port, transport, 'blocked', via);
    // Asked per block (no allocation), so a log level changed by a reload applies here too.
    if (log.isLevelEnabled('debug')) {
      log.debug({ qname: parsed.qname, client: address, list: verdict.list, rule: verdict.rule, via }, 'blocked');
    }
  }

  function answerError(
    query: Buffer,
    parsed: ParsedQuery,
    rcode: number,
    address: string,
    port: number,
    transport: Transport,
    edeCode = -1,
    edeText?: Buffer,
  ): void {
    transport.send(buildErrorResponse(query, parsed, rcode, edeCode, edeText), address, port);
  }

  function setBlockTemplate(template: BlockAnswerTemplate): void {
    blockTemplate = template;
  }

  return { limitFor, deliver, answerError, answerBlocked, recordEvent, setBlockTemplate };
}
