/**
 * A recursive query for one name and type, as poolsink's own background work sends it (the pool
 * IP learner): ID 0 (the upstream pool sets its own), RD set, no OPT. `name` is a DNS name as the
 * list parsers return it (lower case, no trailing dot, labels of 1 to 63 bytes); undefined otherwise.
 */
import { FLAG_RD, HEADER_LEN, QCLASS_IN } from './header.js';

const MAX_NAME_WIRE = 255;

export function buildQuestionQuery(name: string, qtype: number): { wire: Buffer; questionEnd: number } | undefined {
  const labels = name === '' ? [] : name.split('.');
  let nameLength = 1;
  for (const label of labels) {
    const bytes = Buffer.byteLength(label, 'latin1');
    if (bytes === 0 || bytes > 63) return undefined;
    nameLength += bytes + 1;
  }
  if (nameLength > MAX_NAME_WIRE) return undefined;
  const wire = Buffer.alloc(HEADER_LEN + nameLength + 4);
  wire.writeUInt16BE(FLAG_RD, 2);
  wire.writeUInt16BE(1, 4);
  let pos = HEADER_LEN;
  for (const label of labels) {
    wire[pos] = label.length;
    wire.write(label, pos + 1, 'latin1');
    pos += label.length + 1;
  }
  wire[pos] = 0;
  wire.writeUInt16BE(qtype, pos + 1);
  wire.writeUInt16BE(QCLASS_IN, pos + 3);
  return { wire, questionEnd: pos + 5 };
}
