/**
 * An upstream answer made fit for one client (issue 17). The upstream's OPT belongs to the
 * poolsink–upstream hop, so it is cut out once when the answer arrives (`withoutOpt`); each client
 * then gets the records plus its own OPT (writeOpt: poolsink's payload size, the client's DO bit,
 * NSID when asked, the upstream's EDEs), sized to the client's limit:
 *
 *  1. everything, when it fits;
 *  2. else without the additional section, TC clear: RFC 2181 §9 ("the TC bit should not be set
 *     merely because some extra information could have been included") and RFC 6891 §7 (the
 *     OPT is kept: the client's OPT is written after the cut);
 *  3. else, for a positive answer whose authority holds only the zone's NS RRset (and RRSIGs),
 *     without the authority section too, TC clear (what BIND 9.18 sends a small-buffer client);
 *  4. else TC=1 with the question only, so the client retries over TCP. Answer and authority
 *     sections are never cut partway: a DNSSEC answer missing an RRSIG or an NSEC proof fails
 *     validation (RFC 4035 §3.1.1); unbound (msgencode.c: TC with an empty body when the answer
 *     section does not fit) does the same.
 *
 * Only the answer buffer is allocated per call: this runs on the cache-hit path.
 */
import { buildTruncated, optLen, writeOpt } from './answer.js';
import { HEADER_LEN, writeId } from './header.js';
import type { ResponseFacts } from './inspect-response.js';
import type { ParsedQuery } from './query.js';

/** The largest DNS message (TCP's two-byte length prefix). */
export const MAX_MESSAGE_LEN = 0xffff;

/**
 * The response without its OPT record (ARCOUNT one less), and facts whose offsets match it.
 * Returns the response itself when it has no OPT. Runs once per upstream answer.
 */
export function withoutOpt(response: Buffer, facts: ResponseFacts): { body: Buffer; facts: ResponseFacts } {
  const { optStart, optEnd } = facts;
  if (optStart < 0) return { body: response, facts };
  const cut = optEnd - optStart;
  const body = Buffer.allocUnsafe(response.length - cut);
  response.copy(body, 0, 0, optStart);
  response.copy(body, optStart, optEnd);
  body.writeUInt16BE(response.readUInt16BE(10) - 1, 10);
  const shift = (offset: number): number => (offset > optStart ? offset - cut : offset);
  return {
    body,
    facts: {
      ...facts,
      ttlOffsets: facts.ttlOffsets.map(shift),
      additionalStart: Math.min(facts.additionalStart, body.length),
      authorityStart: Math.min(facts.authorityStart, body.length),
      optStart: -1,
      optEnd: -1,
    },
  };
}

/** Size of this client's OPT record, or 0 when the client sent none (RFC 6891 §6.1.1). */
export function clientOptLen(parsed: ParsedQuery, keptOptions: Buffer | undefined): number {
  return parsed.edns ? optLen(parsed, -1, keptOptions?.length ?? 0) : 0;
}

/** Where the sections of a stored answer start, and whether its authority may be left out. */
export interface AnswerShape {
  readonly authorityStart: number;
  readonly authorityOptional: boolean;
  readonly additionalStart: number;
}

/**
 * Where the stored records are cut for a client: `bodyLen` (all of them), `additionalStart`
 * (without the additional section), `authorityStart` (without authority either, when optional),
 * or -1 when even that exceeds `limitBytes` (answer TC).
 */
export function fitCut(bodyLen: number, shape: AnswerShape, optSize: number, limitBytes: number): number {
  if (bodyLen + optSize <= limitBytes) return bodyLen;
  if (shape.additionalStart + optSize <= limitBytes) return shape.additionalStart;
  if (shape.authorityOptional && shape.authorityStart + optSize <= limitBytes) return shape.authorityStart;
  return -1;
}

/**
 * Fills `out` (cut + optSize bytes) from the stored records `body` cut at `cut`: the client's ID
 * and question bytes (its letter case), ARCOUNT for what is left, and the client's OPT at the end.
 */
export function fillClientAnswer(
  out: Buffer,
  body: Buffer,
  cut: number,
  query: Buffer,
  parsed: ParsedQuery,
  keptOptions: Buffer | undefined,
  extendedRcode: number,
  authorityStart: number,
): void {
  // set() and a byte loop, not Buffer#copy: copy's argument handling costs more than ~30 bytes.
  if (cut === body.length) out.set(body);
  else body.copy(out, 0, 0, cut);
  writeId(out, parsed.id);
  const questionEnd = parsed.questionEnd;
  for (let i = HEADER_LEN; i < questionEnd; i++) out[i] = query[i]!;
  if (cut <= authorityStart && cut < body.length) {
    out[8] = 0; // NSCOUNT: the optional authority section was left out
    out[9] = 0;
  }
  const additional = cut === body.length ? (body[10]! << 8) | body[11]! : 0;
  const arcount = additional + (parsed.edns ? 1 : 0);
  out[10] = arcount >>> 8;
  out[11] = arcount & 0xff;
  if (parsed.edns) writeOpt(out, cut, parsed, extendedRcode, -1, undefined, keptOptions);
}

/** TC=1, question only (the client's ID and letter case), with the client's OPT when it sent one. */
export function truncatedFor(body: Buffer, query: Buffer, parsed: ParsedQuery): Buffer {
  const out = buildTruncated(body, parsed);
  writeId(out, parsed.id);
  query.copy(out, HEADER_LEN, HEADER_LEN, parsed.questionEnd);
  return out;
}

/** The whole answer for one client from an OPT-less upstream answer (`withoutOpt`), as is otherwise. */
export function buildClientAnswer(
  body: Buffer,
  facts: ResponseFacts,
  query: Buffer,
  parsed: ParsedQuery,
  limitBytes: number,
): Buffer {
  const optSize = clientOptLen(parsed, facts.keptOptions);
  const cut = fitCut(body.length, facts, optSize, limitBytes);
  if (cut < 0) return truncatedFor(body, query, parsed);
  const out = Buffer.allocUnsafe(cut + optSize);
  fillClientAnswer(out, body, cut, query, parsed, facts.keptOptions, facts.extendedRcode, facts.authorityStart);
  return out;
}
