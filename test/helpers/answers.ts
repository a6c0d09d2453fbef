/**
 * Hand-encoded DNS answers for tests, built from a simple record list: independent of src/dns, so
 * a bug there cannot hide itself, and able to make what an encoder library will not (RRSIGs, raw
 * rdata of any type, OPT with any options, compression of owner names to the question).
 * Also a small reader for the queries a test upstream receives.
 */
import { encodeName, encodeOpt } from './packets.js';

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  DNAME: 39,
  OPT: 41,
  RRSIG: 46,
  HTTPS: 65,
} as const;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RA = 0x0080;
const FLAG_AD = 0x0020;
const ECHOED_QUERY_FLAGS = 0x7800 | 0x0100 | 0x0010; // opcode, RD, CD

/** What a test upstream reads from a query (the question exactly as received). */
export interface QueryInfo {
  readonly id: number;
  readonly flags: number;
  /** The name as received (letter case kept), dotted, no trailing dot; '' for the root. */
  readonly qname: string;
  readonly qtype: number;
  readonly qclass: number;
  /** The question section's bytes (name, type, class) as received. */
  readonly question: Buffer;
  readonly edns: boolean;
  readonly dnssecOk: boolean;
  /** The largest UDP answer the query allows: 512 without EDNS, else the OPT's size (at least 512). */
  readonly udpSize: number;
}

interface RecordBase {
  /** Owner name; default: the question's name as received. */
  name?: string;
  /** Default 300. */
  ttl?: number;
}

/** One resource record. Names are written uncompressed, letter case as given. */
export type RecordSpec =
  | (RecordBase & { type: 'A' | 'AAAA'; address: string })
  | (RecordBase & { type: 'CNAME' | 'NS' | 'PTR' | 'DNAME'; target: string })
  | (RecordBase & { type: 'MX'; preference: number; exchange: string })
  /** Strings longer than 255 bytes are split into several character-strings. */
  | (RecordBase & { type: 'TXT'; text: string | readonly string[] })
  | (RecordBase & {
      type: 'SOA';
      mname?: string;
      rname?: string;
      serial?: number;
      refresh?: number;
      retry?: number;
      expire?: number;
      /** The negative-caching TTL (RFC 2308). */
      minimum: number;
    })
  | (RecordBase & {
      type: 'RRSIG';
      typeCovered: number;
      signer: string;
      algorithm?: number;
      labels?: number;
      originalTtl?: number;
      /** Seconds since the epoch. */
      expiration?: number;
      inception?: number;
      keyTag?: number;
      /** Default: 64 bytes of 0xAB. */
      signature?: Buffer;
    })
  /** Any type with ready-made rdata (HTTPS, DNSKEY, ...). */
  | (RecordBase & { type: number; class?: number; rdata: Buffer });

export interface EdnsSpec {
  udpSize?: number;
  dnssecOk?: boolean;
  /** The upper 8 bits of a 12-bit rcode. */
  extendedRcode?: number;
  options?: readonly { code: number; data: Buffer }[];
}

export interface AnswerSpec {
  /** Default NOERROR. Values above 15 put their upper bits in the OPT record. */
  rcode?: number;
  answers?: readonly RecordSpec[];
  authority?: readonly RecordSpec[];
  additional?: readonly RecordSpec[];
  aa?: boolean;
  ad?: boolean;
  /** Default true. */
  ra?: boolean;
  /**
   * The OPT record: 'echo' (default) adds one when the query had one (size 1232, DO echoed),
   * false never adds one, an EdnsSpec always adds that one.
   */
  edns?: 'echo' | false | EdnsSpec;
  /** Write owner names equal to the question's name as a pointer to it (0xC00C). */
  compress?: boolean;
}

function skipQueryName(buf: Buffer, pos: number): number {
  for (;;) {
    if (pos >= buf.length) return -1;
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= buf.length ? pos + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    pos += len + 1;
  }
}

/** Reads a query's header, question and OPT record; undefined if it is not a readable query. */
export function readQuery(bytes: Buffer): QueryInfo | undefined {
  if (bytes.length < 12 || bytes.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let pos = 12;
  for (;;) {
    const len = bytes[pos];
    if (len === undefined || (len & 0xc0) !== 0 || pos + 1 + len > bytes.length) return undefined;
    if (len === 0) break;
    labels.push(bytes.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  const nameEnd = pos + 1;
  if (nameEnd + 4 > bytes.length) return undefined;
  const questionEnd = nameEnd + 4;
  let edns = false;
  let dnssecOk = false;
  let udpSize = 512;
  const records = bytes.readUInt16BE(6) + bytes.readUInt16BE(8) + bytes.readUInt16BE(10);
  pos = questionEnd;
  for (let i = 0; i < records; i++) {
    pos = skipQueryName(bytes, pos);
    if (pos < 0 || pos + 10 > bytes.length) return undefined;
    if (bytes.readUInt16BE(pos) === TYPE.OPT) {
      edns = true;
      udpSize = Math.max(512, bytes.readUInt16BE(pos + 2));
      dnssecOk = (bytes[pos + 6]! & 0x80) !== 0;
    }
    pos += 10 + bytes.readUInt16BE(pos + 8);
  }
  return {
    id: bytes.readUInt16BE(0),
    flags: bytes.readUInt16BE(2),
    qname: labels.join('.'),
    qtype: bytes.readUInt16BE(nameEnd),
    qclass: bytes.readUInt16BE(nameEnd + 2),
    question: Buffer.from(bytes.subarray(12, questionEnd)),
    edns,
    dnssecOk,
    udpSize,
  };
}

export function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${address}`);
  }
  return Buffer.from(parts);
}

export function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) throw new Error(`not an IPv6 address: ${address}`);
  const groups = [...headGroups, ...new Array<string>(missing).fill('0'), ...tailGroups];
  const out = Buffer.alloc(16);
  for (const [i, group] of groups.entries()) out.writeUInt16BE(parseInt(group, 16), i * 2);
  return out;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function characterStrings(text: string | readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of typeof text === 'string' ? [text] : text) {
    const bytes = Buffer.from(item, 'utf8');
    for (let i = 0; i === 0 || i < bytes.length; i += 255) {
      const chunk = bytes.subarray(i, i + 255);
      parts.push(Buffer.from([chunk.length]), chunk);
    }
  }
  return Buffer.concat(parts);
}

function typeAndRdata(record: RecordSpec): { type: number; rrclass: number; rdata: Buffer } {
  const rrclass = 1;
  switch (record.type) {
    case 'A':
      return { type: TYPE.A, rrclass, rdata: ipv4Bytes(record.address) };
    case 'AAAA':
      return { type: TYPE.AAAA, rrclass, rdata: ipv6Bytes(record.address) };
    case 'CNAME':
    case 'NS':
    case 'PTR':
    case 'DNAME':
      return { type: TYPE[record.type], rrclass, rdata: encodeName(record.target) };
    case 'MX':
      return { type: TYPE.MX, rrclass, rdata: Buffer.concat([u16(record.preference), encodeName(record.exchange)]) };
    case 'TXT':
      return { type: TYPE.TXT, rrclass, rdata: characterStrings(record.text) };
    case 'SOA':
      return {
        type: TYPE.SOA,
        rrclass,
        rdata: Buffer.concat([
          encodeName(record.mname ?? 'ns.test'),
          encodeName(record.rname ?? 'hostmaster.test'),
          u32(record.serial ?? 1),
          u32(record.refresh ?? 3600),
          u32(record.retry ?? 600),
          u32(record.expire ?? 86400),
          u32(record.minimum),
        ]),
      };
    case 'RRSIG':
      return {
        type: TYPE.RRSIG,
        rrclass,
        rdata: Buffer.concat([
          u16(record.typeCovered),
          Buffer.from([record.algorithm ?? 13, record.labels ?? 2]),
          u32(record.originalTtl ?? record.ttl ?? 300),
          u32(record.expiration ?? 2_000_000_000),
          u32(record.inception ?? 1_700_000_000),
          u16(record.keyTag ?? 12345),
          encodeName(record.signer),
          record.signature ?? Buffer.alloc(64, 0xab),
        ]),
      };
    default:
      return { type: record.type, rrclass: record.class ?? 1, rdata: record.rdata };
  }
}

export function encodeRecord(record: RecordSpec, query: QueryInfo, compress = false): Buffer {
  const name = record.name ?? query.qname;
  const owner =
    compress && name.replace(/\.$/, '').toLowerCase() === query.qname.toLowerCase()
      ? Buffer.from([0xc0, 12])
      : encodeName(name);
  const { type, rrclass, rdata } = typeAndRdata(record);
  return Buffer.concat([owner, u16(type), u16(rrclass), u32(record.ttl ?? 300), u16(rdata.length), rdata]);
}

export function encodeEdns(spec: EdnsSpec): Buffer {
  const options = Buffer.concat(
    (spec.options ?? []).map((o) => Buffer.concat([u16(o.code), u16(o.data.length), o.data])),
  );
  const opt = encodeOpt({ udpSize: spec.udpSize ?? 1232, dnssecOk: spec.dnssecOk ?? false, options });
  opt[5] = spec.extendedRcode ?? 0;
  return opt;
}

function ednsFor(query: QueryInfo, spec: AnswerSpec, rcode: number): EdnsSpec | undefined {
  const edns = spec.edns ?? 'echo';
  if (edns === false) return undefined;
  const extendedRcode = rcode >>> 4;
  if (edns === 'echo') return query.edns ? { udpSize: 1232, dnssecOk: query.dnssecOk, extendedRcode } : undefined;
  return { extendedRcode, ...edns };
}

function header(id: number, flags: number, counts: readonly [number, number, number, number]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  for (const [i, count] of counts.entries()) h.writeUInt16BE(count, 4 + i * 2);
  return h;
}

/** An answer to `query`: its ID and question echoed (letter case kept), then the given records. */
export function buildAnswer(query: QueryInfo, spec: AnswerSpec = {}): Buffer {
  const rcode = spec.rcode ?? RCODE.NOERROR;
  const flags =
    FLAG_QR |
    (query.flags & ECHOED_QUERY_FLAGS) |
    (spec.aa === true ? FLAG_AA : 0) |
    (spec.ra === false ? 0 : FLAG_RA) |
    (spec.ad === true ? FLAG_AD : 0) |
    (rcode & 0x0f);
  const compress = spec.compress ?? false;
  const encode = (records: readonly RecordSpec[] | undefined): Buffer[] =>
    (records ?? []).map((r) => encodeRecord(r, query, compress));
  const answers = encode(spec.answers);
  const authority = encode(spec.authority);
  const additional = encode(spec.additional);
  const edns = ednsFor(query, spec, rcode);
  if (edns !== undefined) additional.push(encodeEdns(edns));
  return Buffer.concat([
    header(query.id, flags, [1, answers.length, authority.length, additional.length]),
    query.question,
    ...answers,
    ...authority,
    ...additional,
  ]);
}

/**
 * What a UDP server sends when `response` is too big for the query: its header with TC=1 and no
 * records, the question, and an OPT when the query had one.
 */
export function truncatedFor(response: Buffer, query: QueryInfo): Buffer {
  const flags = response.length >= 4 ? response.readUInt16BE(2) | FLAG_TC : FLAG_QR | FLAG_TC;
  const id = response.length >= 2 ? response.readUInt16BE(0) : query.id;
  const opt = query.edns ? [encodeEdns({ udpSize: 1232, dnssecOk: query.dnssecOk })] : [];
  return Buffer.concat([header(id, flags, [1, 0, 0, opt.length]), query.question, ...opt]);
}

/** A copy of `message` with another ID. */
export function withId(message: Buffer, id: number): Buffer {
  const out = Buffer.from(message);
  out.writeUInt16BE(id & 0xffff, 0);
  return out;
}
