import { describe, expect, test } from 'vitest';
import DNS from 'dns2';
import { RCODE, QTYPE } from '../../src/wire/header.js';
import { PARSE, createParsedQuery, parseQuery } from '../../src/wire/query.js';
import { buildErrorResponse, buildTruncated } from '../../src/wire/answer.js';
import { buildBlockResponse, createBlockAnswerTemplate, type BlockResponseKind } from '../../src/wire/block-answer.js';
import { encodeName, encodeOpt, encodeQuery, findEde, rcodeOf } from '../helpers/packets.js';

const { Packet } = DNS;

function parse(buf: Buffer) {
  const out = createParsedQuery();
  const outcome = parseQuery(buf, out);
  return { outcome, out };
}

function header(fields: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(fields.id ?? 1, 0);
  h.writeUInt16BE(fields.flags ?? 0x0100, 2);
  h.writeUInt16BE(fields.qd ?? 1, 4);
  h.writeUInt16BE(fields.an ?? 0, 6);
  h.writeUInt16BE(fields.ns ?? 0, 8);
  h.writeUInt16BE(fields.ar ?? 0, 10);
  return h;
}

const label63 = 'a'.repeat(63);
const label64 = 'a'.repeat(64);
// 4 labels of 63 + separators: wire length 4*64+1 = 257 > 255.
const tooLongName = [label63, label63, label63, label63].join('.');
// Wire length exactly 255: 3 labels of 63 (192) + one of 61 (62) + root (1) = 255.
const maxName = [label63, label63, label63, 'b'.repeat(61)].join('.');

describe('parseQuery', () => {
  test.each([
    ['plain A query', encodeQuery('pool.example.com'), PARSE.OK, 'pool.example.com'],
    ['upper case is lowered', encodeQuery('POOL.Example.COM'), PARSE.OK, 'pool.example.com'],
    ['root name', encodeQuery('', { type: QTYPE.NS }), PARSE.OK, ''],
    ['63-byte label', encodeQuery(`${label63}.com`), PARSE.OK, `${label63}.com`],
    ['255-byte name', encodeQuery(maxName), PARSE.OK, maxName],
    ['punycode IDN', encodeQuery('xn--mnchen-3ya.de'), PARSE.OK, 'xn--mnchen-3ya.de'],
    ['EDNS query', encodeQuery('a.com', { edns: { udpSize: 4096, dnssecOk: true } }), PARSE.OK, 'a.com'],
  ])('%s is read', (_label, packet, outcome, qname) => {
    const { outcome: got, out } = parse(packet);
    expect(got).toBe(outcome);
    expect(out.qname).toBe(qname);
    expect(out.hasQuestion).toBe(true);
  });

  test.each([
    ['empty packet', Buffer.alloc(0), PARSE.DROP],
    ['11-byte header', Buffer.alloc(11), PARSE.DROP],
    ['a response (QR=1)', encodeQuery('a.com', { flags: 0x8100 }), PARSE.DROP],
    ['opcode STATUS', encodeQuery('a.com', { flags: 0x1100 }), PARSE.NOTIMP],
    ['opcode UPDATE', encodeQuery('a.com', { flags: 0x2800 }), PARSE.NOTIMP],
    ['QDCOUNT 0', header({ qd: 0 }), PARSE.FORMERR],
    ['QDCOUNT 2', encodeQuery('a.com', { qdcount: 2 }), PARSE.FORMERR],
    ['header only with QDCOUNT 1', header({}), PARSE.FORMERR],
    ['64-byte label', encodeQuery(`${label64}.com`), PARSE.FORMERR],
    ['name over 255 bytes', encodeQuery(tooLongName), PARSE.FORMERR],
    ['name without terminator', Buffer.concat([header({}), Buffer.from([3, 0x61, 0x62, 0x63])]), PARSE.FORMERR],
    ['label past the end', Buffer.concat([header({}), Buffer.from([10, 0x61])]), PARSE.FORMERR],
    ['missing type/class', Buffer.concat([header({}), encodeName('a.com')]), PARSE.FORMERR],
    ['compression pointer to itself', Buffer.concat([header({}), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), PARSE.FORMERR],
    [
      'compression pointer loop',
      Buffer.concat([header({}), Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])]),
      PARSE.FORMERR,
    ],
    ['extended label type 0x40', Buffer.concat([header({}), Buffer.from([0x41, 0, 0, 1, 0, 1])]), PARSE.FORMERR],
    ['trailing garbage', encodeQuery('a.com', { trailing: Buffer.from([1, 2, 3]) }), PARSE.FORMERR],
    [
      'ARCOUNT 1 but no record',
      Buffer.concat([header({ ar: 1 }), encodeName('a.com'), Buffer.from([0, 1, 0, 1])]),
      PARSE.FORMERR,
    ],
    [
      'two OPT records',
      Buffer.concat([header({ ar: 2 }), encodeName('a.com'), Buffer.from([0, 1, 0, 1]), encodeOpt({}), encodeOpt({})]),
      PARSE.FORMERR,
    ],
    [
      'OPT in the answer section',
      Buffer.concat([header({ an: 1 }), encodeName('a.com'), Buffer.from([0, 1, 0, 1]), encodeOpt({})]),
      PARSE.FORMERR,
    ],
    [
      'OPT with rdlen past the end',
      Buffer.concat([
        header({ ar: 1 }),
        encodeName('a.com'),
        Buffer.from([0, 1, 0, 1]),
        encodeOpt({}).subarray(0, 9),
        Buffer.from([0, 9]),
      ]),
      PARSE.FORMERR,
    ],
    ['EDNS version 1', encodeQuery('a.com', { edns: { version: 1 } }), PARSE.BADVERS],
  ])('%s → outcome %i', (_label, packet, outcome) => {
    expect(parse(packet).outcome).toBe(outcome);
  });

  test('EDNS fields: payload size clamped, DO bit, CD bit', () => {
    const small = parse(encodeQuery('a.com', { edns: { udpSize: 100 } })).out;
    expect(small.edns).toBe(true);
    expect(small.udpSize).toBe(512);
    const big = parse(encodeQuery('a.com', { edns: { udpSize: 65000, dnssecOk: true }, flags: 0x0110 })).out;
    expect(big.udpSize).toBe(4096);
    expect(big.dnssecOk).toBe(true);
    expect(big.checkingDisabled).toBe(true);
    const plain = parse(encodeQuery('a.com')).out;
    expect(plain.edns).toBe(false);
    expect(plain.udpSize).toBe(512);
  });

  test('questionEnd, type and class', () => {
    const q = encodeQuery('abc.de', { type: QTYPE.AAAA, qclass: 3 });
    const { out } = parse(q);
    expect(out.questionEnd).toBe(12 + 8 + 4);
    expect(out.qtype).toBe(QTYPE.AAAA);
    expect(out.qclass).toBe(3);
  });

  test('a record with a backwards compression pointer in the additional section is accepted', () => {
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]);
    const q = Buffer.concat([header({ ar: 1 }), encodeName('a.com'), Buffer.from([0, 1, 0, 1]), rr]);
    expect(parse(q).outcome).toBe(PARSE.OK);
  });
});

describe('response builders', () => {
  const ipv4 = Buffer.from([192, 0, 2, 1]);
  const ipv6 = Buffer.alloc(16);
  ipv6[0] = 1;
  ipv6[15] = 1;
  const reason = Buffer.from('blocked by poolsink list mining-pools');

  function blockAnswer(kind: BlockResponseKind, query: Buffer) {
    const { out } = parse(query);
    const template = createBlockAnswerTemplate({ kind, ttlSec: 60, sinkholeIpv4: ipv4, sinkholeIpv6: ipv6 });
    const response = buildBlockResponse(query, out, template, reason);
    return { response, decoded: Packet.parse(response) };
  }

  test.each([
    ['nxdomain', QTYPE.A, RCODE.NXDOMAIN, 0, 1],
    ['nodata', QTYPE.A, RCODE.NOERROR, 0, 1],
    ['null', QTYPE.A, RCODE.NOERROR, 1, 0],
    ['null', QTYPE.MX, RCODE.NOERROR, 0, 1],
    ['sinkhole', QTYPE.AAAA, RCODE.NOERROR, 1, 0],
    ['refused', QTYPE.A, RCODE.REFUSED, 0, 0],
  ] as const)('%s answer to type %i: rcode %i, %i answers, %i authority', (kind, type, rcode, answers, authorities) => {
    const { response, decoded } = blockAnswer(kind, encodeQuery('X.Pool.COM', { id: 0xbeef, type, edns: {} }));
    expect(rcodeOf(response)).toBe(rcode);
    expect(decoded.header.id).toBe(0xbeef);
    expect(decoded.header.qr).toBe(1);
    expect(decoded.questions[0]?.name).toBe('X.Pool.COM');
    expect(decoded.answers.length).toBe(answers);
    expect(decoded.authorities.length).toBe(authorities);
    expect(findEde(response)).toEqual({ code: 15, text: reason.toString() });
  });

  test('null answer carries 0.0.0.0, sinkhole carries the configured address', () => {
    expect(blockAnswer('null', encodeQuery('a.com')).decoded.answers[0]).toMatchObject({ address: '0.0.0.0', ttl: 60 });
    expect(blockAnswer('sinkhole', encodeQuery('a.com')).decoded.answers[0]).toMatchObject({ address: '192.0.2.1' });
  });

  test('NXDOMAIN carries an SOA whose minimum is the block TTL, and no OPT without EDNS', () => {
    const { response, decoded } = blockAnswer('nxdomain', encodeQuery('a.com'));
    expect(decoded.authorities[0]).toMatchObject({
      type: QTYPE.SOA,
      ttl: 60,
      minimum: 60,
      primary: 'poolsink.invalid',
    });
    expect(decoded.additionals.length).toBe(0);
    expect(findEde(response)).toBeUndefined();
  });

  test('DO bit is echoed in the OPT of a block answer', () => {
    const { response } = blockAnswer('nxdomain', encodeQuery('a.com', { edns: { dnssecOk: true } }));
    const { out } = parse(encodeQuery('a.com', { edns: { dnssecOk: true } }));
    expect(out.dnssecOk).toBe(true);
    // The OPT's TTL high flag byte sits 4 bytes into the fixed part after the root owner.
    const optStart = response.length - 11 - 6 - reason.length;
    expect(response[optStart + 7]! & 0x80).toBe(0x80);
  });

  test('error response echoes question and flags', () => {
    const query = encodeQuery('Q.example', { id: 7, flags: 0x0110, edns: {} });
    const { out } = parse(query);
    const response = buildErrorResponse(query, out, RCODE.SERVFAIL, 22, Buffer.from('x'));
    const decoded = Packet.parse(response);
    expect(decoded.header.id).toBe(7);
    expect(rcodeOf(response)).toBe(RCODE.SERVFAIL);
    expect(decoded.header.rd).toBe(1);
    expect(response[3]! & 0x10).toBe(0x10); // CD echoed
    expect(decoded.questions[0]?.name).toBe('Q.example');
    expect(findEde(response)).toEqual({ code: 22, text: 'x' });
  });

  test('FORMERR for a packet without a readable question is a bare header', () => {
    const query = header({ id: 99, qd: 0 });
    const { out } = parse(query);
    const response = buildErrorResponse(query, out, RCODE.FORMERR);
    expect(response.length).toBe(12);
    expect(response.readUInt16BE(0)).toBe(99);
    expect(rcodeOf(response)).toBe(RCODE.FORMERR);
    expect(response[2]! & 0x80).toBe(0x80);
  });

  test('BADVERS answer carries an OPT with the upper rcode bits', () => {
    const query = encodeQuery('a.com', { edns: { version: 3 } });
    const { out } = parse(query);
    const response = buildErrorResponse(query, out, RCODE.BADVERS);
    expect(rcodeOf(response)).toBe(0);
    expect(response.readUInt16BE(10)).toBe(1);
    expect(response[response.length - 11 + 5]).toBe(1);
  });

  test('truncated copy keeps header and question, sets TC, drops records', () => {
    const query = encodeQuery('big.example', { edns: { udpSize: 512 } });
    const { out } = parse(query);
    const txt = Buffer.concat([
      Buffer.from([0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 201, 200]),
      Buffer.alloc(200, 0x78),
    ]);
    const head = Buffer.from(query.subarray(0, out.questionEnd));
    head.writeUInt16BE(0x8180, 2);
    head.writeUInt16BE(20, 6);
    head.writeUInt16BE(0, 10);
    const full = Buffer.concat([head, ...new Array<Buffer>(20).fill(txt)]);
    expect(Packet.parse(full).answers.length).toBe(20);
    const truncated = buildTruncated(full, out);
    const decoded = Packet.parse(truncated);
    expect(decoded.header.tc).toBe(1);
    expect(decoded.answers.length).toBe(0);
    expect(decoded.questions[0]?.name).toBe('big.example');
    expect(truncated.length).toBeLessThan(512);
  });
});
