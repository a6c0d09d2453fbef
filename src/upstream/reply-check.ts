/**
 * Decides whether an upstream reply answers the question we sent. A reply that does not is dropped
 * (a spoof, a late or stray packet, or garbage) and the query keeps waiting for the real answer.
 * The ID, the socket and the source address are the caller's checks; this is the bytes' check.
 */
import { inspectResponse, type ResponseFacts } from '../wire/inspect-response.js';
import { skipName, wireNamesEqualIgnoreCase } from '../wire/name.js';
import { HEADER_LEN, isTruncated } from '../wire/header.js';

const QR_BIT = 0x80; // in byte 2
const OPCODE_BITS = 0x78; // in byte 2

/**
 * True when `reply` is a response (QR=1) with the sent opcode and exactly one question equal to
 * the one in `sent` (bytes 12..questionEnd; name ignoring ASCII case, type and class exact), and,
 * unless truncated, the message is one the resolver can use (inspectResponse reads it: records
 * within the message, nothing after the last one, OPT, CNAME and SOA well formed). A reply that
 * fails here is dropped like a spoof, so the attempt times out and the next upstream is tried,
 * instead of the resolver receiving an answer it must reject.
 * `sent` must hold a well-formed uncompressed question ending at `questionEnd`.
 */
export function isReplyTo(reply: Uint8Array, sent: Uint8Array, questionEnd: number): boolean {
  return checkReply(reply, sent, questionEnd) !== undefined;
}

/** What checkReply found in a truncated reply: nothing, its records are never read. */
export const TRUNCATED = 'truncated';

/**
 * isReplyTo's check, handing on what it read: the reply's facts (inspectResponse), so that the
 * resolver does not walk the same message again; TRUNCATED for a truncated reply (not inspected);
 * undefined when it is not a reply to `sent`.
 */
export function checkReply(
  reply: Uint8Array,
  sent: Uint8Array,
  questionEnd: number,
): ResponseFacts | typeof TRUNCATED | undefined {
  const end = reply.length;
  if (end < questionEnd) return undefined;
  const flagsHigh = reply[2]!;
  if ((flagsHigh & QR_BIT) === 0 || (flagsHigh & OPCODE_BITS) !== (sent[2]! & OPCODE_BITS)) return undefined;
  if (reply[4] !== 0 || reply[5] !== 1) return undefined;
  const nameEnd = questionEnd - 4;
  if (skipName(reply, HEADER_LEN, end) !== nameEnd) return undefined;
  if (!wireNamesEqualIgnoreCase(reply, HEADER_LEN, sent, HEADER_LEN, nameEnd - HEADER_LEN)) return undefined;
  for (let i = nameEnd; i < questionEnd; i++) {
    if (reply[i] !== sent[i]) return undefined;
  }
  // A truncated reply is only a signal to retry over TCP; its records are never used.
  if (isTruncated(reply)) return TRUNCATED;
  return inspectResponse(reply);
}
