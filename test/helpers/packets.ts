/**
 * Hand-encoded DNS queries for tests: independent of src/dns so a bug there cannot hide itself,
 * and able to build the malformed packets an encoder library refuses to make.
 */
export interface QueryOptions {
  id?: number;
  type?: number;
  qclass?: number;
  /** Header flags word; default RD only. */
  flags?: number;
  qdcount?: number;
  edns?: { udpSize?: number; dnssecOk?: boolean; version?: number; options?: Buffer };
  /** Bytes appended after the last record (trailing garbage). */
  trailing?: Buffer;
}

export function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.')) {
    if (label === '') continue;
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeOpt(edns: NonNullable<QueryOptions['edns']>): Buffer {
  const options = edns.options ?? Buffer.alloc(0);
  const opt = Buffer.alloc(11);
  opt[0] = 0;
  opt.writeUInt16BE(41, 1);
  opt.writeUInt16BE(edns.udpSize ?? 1232, 3);
  opt[5] = 0;
  opt[6] = edns.version ?? 0;
  opt[7] = edns.dnssecOk ? 0x80 : 0;
  opt[8] = 0;
  opt.writeUInt16BE(options.length, 9);
  return Buffer.concat([opt, options]);
}

export function encodeQuery(name: string, options: QueryOptions = {}): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id ?? 0x1234, 0);
  header.writeUInt16BE(options.flags ?? 0x0100, 2);
  header.writeUInt16BE(options.qdcount ?? 1, 4);
  header.writeUInt16BE(options.edns ? 1 : 0, 10);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(options.type ?? 1, 0);
  tail.writeUInt16BE(options.qclass ?? 1, 2);
  const parts = [header, encodeName(name), tail];
  if (options.edns) parts.push(encodeOpt(options.edns));
  if (options.trailing) parts.push(options.trailing);
  return Buffer.concat(parts);
}

/** The EDE info code and text in a response's OPT record, if any (minimal walker for tests). */
export function findEde(response: Buffer): { code: number; text: string } | undefined {
  const opt = findOptRdata(response);
  if (opt === undefined) return undefined;
  let pos = 0;
  while (pos + 4 <= opt.length) {
    const code = opt.readUInt16BE(pos);
    const len = opt.readUInt16BE(pos + 2);
    if (code === 15)
      return { code: opt.readUInt16BE(pos + 4), text: opt.subarray(pos + 6, pos + 4 + len).toString('utf8') };
    pos += 4 + len;
  }
  return undefined;
}

function skipName(buf: Buffer, pos: number): number {
  for (;;) {
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2;
    pos += len + 1;
  }
}

/** The rdata of the OPT record in the additional section of a well-formed message. */
export function findOptRdata(msg: Buffer): Buffer | undefined {
  let pos = 12;
  const qd = msg.readUInt16BE(4);
  for (let i = 0; i < qd; i++) pos = skipName(msg, pos) + 4;
  const records = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  for (let i = 0; i < records; i++) {
    pos = skipName(msg, pos);
    const type = msg.readUInt16BE(pos);
    const rdlen = msg.readUInt16BE(pos + 8);
    if (type === 41) return msg.subarray(pos + 10, pos + 10 + rdlen);
    pos += 10 + rdlen;
  }
  return undefined;
}

export function rcodeOf(msg: Buffer): number {
  return msg[3]! & 0x0f;
}
