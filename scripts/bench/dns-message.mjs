/**
 * Just enough DNS wire handling for the benchmark's own helpers (trivial responder, local
 * upstream, readiness probe). Every read is bounds-checked; names in the question section are
 * never compressed, so a pointer there is treated as malformed.
 */

const HEADER_BYTES = 12;
const MAX_NAME_BYTES = 255;

/**
 * Offset just past the first question's QTYPE/QCLASS, or -1 when the message has no complete,
 * uncompressed first question.
 */
export function questionEnd(message) {
  if (message.length < HEADER_BYTES) return -1;
  if (message[4] !== 0 || message[5] === 0) return -1; // qdcount must be 1..255; we read the first
  let offset = HEADER_BYTES;
  let nameBytes = 0;
  for (;;) {
    if (offset >= message.length) return -1;
    const labelLength = message[offset];
    if (labelLength === 0) break;
    if (labelLength > 63) return -1; // compression pointer or reserved label type
    nameBytes += labelLength + 1;
    if (nameBytes > MAX_NAME_BYTES) return -1;
    offset += labelLength + 1;
  }
  offset += 1 + 4; // root label, QTYPE, QCLASS
  return offset <= message.length ? offset : -1;
}

/** QTYPE of the first question; call only after questionEnd() returned end > 0. */
export function questionType(message, end) {
  return (message[end - 4] << 8) | message[end - 3];
}

/** A standard recursive query for `qname` (presentation form, no trailing dot needed). */
export function encodeQuery(qname, id, qtype = 1) {
  const labels = qname
    .replace(/\.$/, '')
    .split('.')
    .filter((label) => label !== '');
  const nameLength = labels.reduce((sum, label) => sum + label.length + 1, 1);
  const message = Buffer.alloc(HEADER_BYTES + nameLength + 4);
  message.writeUInt16BE(id & 0xffff, 0);
  message.writeUInt16BE(0x0100, 2); // RD
  message.writeUInt16BE(1, 4); // QDCOUNT
  let offset = HEADER_BYTES;
  for (const label of labels) {
    if (label.length > 63) throw new Error(`label too long in ${qname}`);
    message[offset] = label.length;
    message.write(label, offset + 1, 'ascii');
    offset += label.length + 1;
  }
  message[offset] = 0;
  message.writeUInt16BE(qtype, offset + 1);
  message.writeUInt16BE(1, offset + 3); // IN
  return message;
}

export const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** { id, rcode, ancount } of a response, or undefined when it is too short to be one. */
export function readResponseHeader(message) {
  if (message.length < HEADER_BYTES || (message[2] & 0x80) === 0) return undefined;
  return {
    id: message.readUInt16BE(0),
    rcode: message[3] & 0x0f,
    ancount: message.readUInt16BE(6),
  };
}
