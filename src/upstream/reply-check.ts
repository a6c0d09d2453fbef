/**
 * Decides whether an upstream reply answers the question we sent. A reply that does not is dropped
 * (a spoof, a late or stray packet, or garbage) and the query keeps waiting for the real answer.
 * The ID, the socket and the source address are the caller's checks; this is the bytes' check.
 */
import { skipName, wireNamesEqualIgnoreCase } from '../dns/name.js';
import { HEADER_LEN, isTruncated } from '../dns/wire.js';

const QR_BIT = 0x80; // in byte 2
const OPCODE_BITS = 0x78; // in byte 2

/**
 * True when `reply` is a response (QR=1) with the sent opcode and exactly one question equal to
 * the one in `sent` (bytes 12..questionEnd; name ignoring ASCII case, type and class exact), and,
 * unless truncated, every record lies within the message and nothing follows the last one.
 * `sent` must hold a well-formed uncompressed question ending at `questionEnd`.
 */
export function isReplyTo(reply: Uint8Array, sent: Uint8Array, questionEnd: number): boolean {
  const end = reply.length;
  if (end < questionEnd) return false;
  const flagsHigh = reply[2]!;
  if ((flagsHigh & QR_BIT) === 0 || (flagsHigh & OPCODE_BITS) !== (sent[2]! & OPCODE_BITS)) return false;
  if (reply[4] !== 0 || reply[5] !== 1) return false;
  const nameEnd = questionEnd - 4;
  if (skipName(reply, HEADER_LEN, end) !== nameEnd) return false;
  if (!wireNamesEqualIgnoreCase(reply, HEADER_LEN, sent, HEADER_LEN, nameEnd - HEADER_LEN)) return false;
  for (let i = nameEnd; i < questionEnd; i++) {
    if (reply[i] !== sent[i]) return false;
  }
  // A truncated reply is only a signal to retry over TCP; its records are never used.
  if (isTruncated(reply)) return true;
  return recordsEnd(reply, questionEnd) === end;
}

/** Offset just past the answer, authority and additional records, or -1 if one runs past the end. */
function recordsEnd(msg: Uint8Array, start: number): number {
  const end = msg.length;
  const count = ((msg[6]! << 8) | msg[7]!) + ((msg[8]! << 8) | msg[9]!) + ((msg[10]! << 8) | msg[11]!);
  let pos = start;
  for (let i = 0; i < count; i++) {
    pos = skipName(msg, pos, end);
    if (pos < 0 || pos + 10 > end) return -1;
    pos += 10 + ((msg[pos + 8]! << 8) | msg[pos + 9]!);
    if (pos > end) return -1;
  }
  return pos;
}
