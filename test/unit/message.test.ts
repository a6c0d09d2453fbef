import { describe, expect, test } from 'vitest';
import DNS from 'dns2';
import { inspectResponse } from '../../src/wire/inspect-response.js';
import { QTYPE, RCODE } from '../../src/wire/header.js';
import { encodeName } from '../helpers/packets.js';
import { a, buildResponse, cname, ns, soa, type ResponseSpec } from '../helpers/dns2-responses.js';

const { Packet } = DNS;

// ---- Hand-made bytes, for what an encoder will not produce. ----

function header(fields: { flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x4242, 0);
  h.writeUInt16BE(fields.flags ?? 0x8180, 2);
  h.writeUInt16BE(fields.qd ?? 1, 4);
  h.writeUInt16BE(fields.an ?? 0, 6);
  h.writeUInt16BE(fields.ns ?? 0, 8);
  h.writeUInt16BE(fields.ar ?? 0, 10);
  return h;
}

const QUESTION = Buffer.concat([encodeName('a.com'), Buffer.from([0, 1, 0, 1])]); // at offset 12, 11 bytes
const AFTER_QUESTION = 12 + QUESTION.length; // 23

/** One resource record; `rdlen` overrides the real rdata length. */
function rr(owner: number[] | Buffer, type: number, ttl: number, rdata: number[] | Buffer, rdlen?: number): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdlen ?? rdata.length, 8);
  return Buffer.concat([Buffer.from(owner), fixed, Buffer.from(rdata)]);
}

/** A header, the a.com question, then the given bytes. */
function message(
  counts: { an?: number; ns?: number; ar?: number; qd?: number; flags?: number },
  ...rest: Buffer[]
): Buffer {
  return Buffer.concat([header(counts), QUESTION, ...rest]);
}

const toQuestion = [0xc0, 12];
const optRecord = rr([0], QTYPE.OPT, 0, []);
const soaRdata = Buffer.concat([encodeName('ns.a.com'), encodeName('h.a.com'), Buffer.alloc(20, 1)]);
const longOwner = Buffer.concat([
  ...Array.from({ length: 5 }, () => Buffer.from([63, ...Buffer.alloc(63, 0x61)])),
  Buffer.from([0]),
]);

describe('inspectResponse: malformed input is undefined', () => {
  test.each([
    ['empty', Buffer.alloc(0)],
    ['11-byte header', Buffer.alloc(11, 0x80)],
    ['not a response (QR=0)', message({ flags: 0x0100 })],
    ['QDCOUNT 0', header({ qd: 0 })],
    ['QDCOUNT 2', Buffer.concat([header({ qd: 2 }), QUESTION, QUESTION])],
    ['header only', header({})],
    ['question name past the end', Buffer.concat([header({}), Buffer.from([10, 0x61, 0x62])])],
    ['question without type/class', Buffer.concat([header({}), encodeName('a.com'), Buffer.from([0, 1])])],
    ['compressed question name', Buffer.concat([header({}), Buffer.from([1, 0x61, 0xc0, 4, 0, 1, 0, 1])])],
    ['question label type 0x40', Buffer.concat([header({}), Buffer.from([0x41, 0, 0, 1, 0, 1])])],
    ['ANCOUNT 1 but no record', message({ an: 1 })],
    ['ANCOUNT 2 but one record', message({ an: 2 }, rr(toQuestion, QTYPE.A, 60, [1, 2, 3, 4]))],
    ['record cut inside its fixed part', message({ an: 1 }, rr(toQuestion, QTYPE.A, 60, [1, 2, 3, 4]).subarray(0, 9))],
    ['rdata past the end', message({ an: 1 }, rr(toQuestion, QTYPE.A, 60, [1, 2, 3, 4], 10))],
    ['owner pointer forwards', message({ an: 1 }, rr([0xc0, AFTER_QUESTION + 2], QTYPE.A, 60, [1, 2, 3, 4]))],
    ['owner pointer to itself', message({ an: 1 }, rr([0xc0, AFTER_QUESTION], QTYPE.A, 60, [1, 2, 3, 4]))],
    ['owner label type 0x80', message({ an: 1 }, rr([0x81, 0x61, 0], QTYPE.A, 60, [1, 2, 3, 4]))],
    ['owner name over 255 bytes', message({ an: 1 }, rr(longOwner, QTYPE.A, 60, [1, 2, 3, 4]))],
    ['trailing garbage', message({ an: 1 }, rr(toQuestion, QTYPE.A, 60, [1, 2, 3, 4]), Buffer.from([0]))],
    // The CNAME's rdata starts at 23 + 12 = 35; a pointer there to 35 points at itself.
    ['CNAME target pointer loop', message({ an: 1 }, rr(toQuestion, QTYPE.CNAME, 60, [0xc0, AFTER_QUESTION + 12]))],
    ['CNAME target pointer forwards', message({ an: 1 }, rr(toQuestion, QTYPE.CNAME, 60, [0xc0, 0xff]))],
    [
      'CNAME rdata longer than its name',
      message({ an: 1 }, rr(toQuestion, QTYPE.CNAME, 60, [...encodeName('b.com'), 0])),
    ],
    // Label "b" with its terminator outside the rdata: the next record's root owner would end it.
    [
      'CNAME name longer than its rdata',
      message({ an: 2 }, rr(toQuestion, QTYPE.CNAME, 60, [1, 0x62]), rr([0], QTYPE.A, 60, [1, 2, 3, 4])),
    ],
    [
      'SOA rdata too short',
      message({ ns: 1, flags: 0x8183 }, rr(toQuestion, QTYPE.SOA, 60, soaRdata.subarray(0, soaRdata.length - 4))),
    ],
    ['SOA rdata too long', message({ ns: 1, flags: 0x8183 }, rr(toQuestion, QTYPE.SOA, 60, [...soaRdata, 0]))],
    ['OPT in the answer section', message({ an: 1 }, optRecord)],
    ['OPT in the authority section', message({ ns: 1 }, optRecord)],
    ['two OPT records', message({ ar: 2 }, optRecord, optRecord)],
    ['OPT owned by a non-root name', message({ ar: 1 }, rr(toQuestion, QTYPE.OPT, 0, []))],
  ])('%s', (_label, packet) => {
    expect(inspectResponse(packet)).toBeUndefined();
  });

  test('the well-formed twin of the hand-made cases is accepted (the cases above fail for their flaw)', () => {
    const facts = inspectResponse(
      message(
        { an: 2, ns: 1, ar: 1, flags: 0x8180 },
        rr(toQuestion, QTYPE.CNAME, 60, encodeName('b.com')),
        rr(longOwner.subarray(2 * 64), QTYPE.A, 30, [1, 2, 3, 4]), // three 63-byte labels: 193 bytes
        rr(toQuestion, QTYPE.SOA, 90, soaRdata),
        optRecord,
      ),
    );
    expect(facts).toMatchObject({ answerCount: 2, cnameTargets: ['b.com'], minTtlSec: 30 });
    expect(facts?.ttlOffsets).toHaveLength(3);
  });
});

describe('inspectResponse: header facts', () => {
  test.each([
    ['NOERROR', { rcode: RCODE.NOERROR }, { rcode: 0, extendedRcode: 0, truncated: false }],
    ['NXDOMAIN', { rcode: RCODE.NXDOMAIN }, { rcode: 3, extendedRcode: 3, truncated: false }],
    ['SERVFAIL', { rcode: RCODE.SERVFAIL }, { rcode: 2, extendedRcode: 2, truncated: false }],
    ['REFUSED with OPT', { rcode: RCODE.REFUSED, optTtl: 0 }, { rcode: 5, extendedRcode: 5, truncated: false }],
    [
      'BADVERS: header 0, OPT high bits 1',
      { rcode: RCODE.BADVERS, optTtl: 0 },
      { rcode: 0, extendedRcode: 16, truncated: false },
    ],
    ['truncated', { tc: true }, { rcode: 0, extendedRcode: 0, truncated: true }],
  ] satisfies [string, ResponseSpec, object][])('%s', (_label, spec, expected) => {
    expect(inspectResponse(buildResponse(spec))).toMatchObject(expected);
  });

  test.each([
    ['example.com', 12 + 13 + 4],
    ['a.b.c.example.org', 12 + 19 + 4],
    ['', 12 + 1 + 4], // the root
  ])('questionEnd for %j is %i', (name, questionEnd) => {
    expect(inspectResponse(buildResponse({ name, answers: [a(name, 60)] }))?.questionEnd).toBe(questionEnd);
  });
});

describe('inspectResponse: TTLs', () => {
  test('offsets of two compressed A records follow the question', () => {
    const facts = inspectResponse(
      buildResponse({ answers: [a('example.com', 60), a('example.com', 70, '192.0.2.2')] }),
    );
    const questionEnd = 12 + 13 + 4;
    // Each record: 2-byte pointer owner, TYPE, CLASS, then the TTL; 16 bytes in all.
    expect(facts?.ttlOffsets).toEqual([questionEnd + 6, questionEnd + 16 + 6]);
    expect(facts?.answerCount).toBe(2);
  });

  test('every offset is a TTL field, in record order, across all sections, skipping OPT', () => {
    const response = buildResponse({
      name: 'www.example.com',
      answers: [
        cname('www.example.com', 300, 'cdn.example.net'),
        a('cdn.example.net', 20),
        a('cdn.example.net', 30, '192.0.2.9'),
      ],
      authorities: [ns('example.net', 400, 'ns1.example.net'), ns('example.net', 500, 'ns2.example.net')],
      additionals: [a('ns1.example.net', 600, '192.0.2.53')],
      optTtl: 0x8000, // DO bit: the OPT's TTL field is flags
    });
    const facts = inspectResponse(response);
    expect(facts?.ttlOffsets).toHaveLength(6);
    // Write a distinct value into each reported offset and decode with dns2: each record's TTL
    // must be exactly the value written, and the OPT's flags must be untouched.
    const patched = Buffer.from(response);
    for (const [i, offset] of (facts?.ttlOffsets ?? []).entries()) patched.writeUInt32BE(1000 + i, offset);
    const decoded = Packet.parse(patched);
    const ttls = [...decoded.answers, ...decoded.authorities, ...decoded.additionals]
      .filter((record) => record.type !== QTYPE.OPT)
      .map((record) => record.ttl);
    expect(ttls).toEqual([1000, 1001, 1002, 1003, 1004, 1005]);
    expect(decoded.additionals.find((record) => record.type === QTYPE.OPT)?.ttl).toBe(0x8000);
  });

  test.each([
    ['answers only', { answers: [a('example.com', 300), a('example.com', 60)] }, 60],
    [
      'lowest in authority',
      { answers: [a('example.com', 300)], authorities: [ns('example.com', 45, 'ns.example.com')] },
      45,
    ],
    ['lowest in additional', { answers: [a('example.com', 300)], additionals: [a('ns.example.com', 5)] }, 5],
    ['OPT TTL field 0 is not a TTL', { answers: [a('example.com', 300)], optTtl: 0 }, 300],
    ['OPT alone: no TTLs', { optTtl: 0 }, -1],
    ['no records', {}, -1],
    ['TTL 0', { answers: [a('example.com', 0), a('example.com', 60)] }, 0],
  ] satisfies [string, ResponseSpec, number][])('minTtlSec: %s', (_label, spec, minTtlSec) => {
    expect(inspectResponse(buildResponse(spec))?.minTtlSec).toBe(minTtlSec);
  });

  test('a TTL with the top bit set counts as 0 (RFC 2181 §8)', () => {
    const response = buildResponse({ answers: [a('example.com', 300)] });
    const offset = inspectResponse(response)?.ttlOffsets[0] ?? -1;
    response.writeUInt32BE(0x80000010, offset);
    expect(inspectResponse(response)?.minTtlSec).toBe(0);
  });
});

describe('inspectResponse: negative TTL (RFC 2308)', () => {
  test.each([
    ['NXDOMAIN, SOA minimum lower', { rcode: RCODE.NXDOMAIN, authorities: [soa('example.com', 900, 300)] }, 300],
    ['NXDOMAIN, SOA TTL lower', { rcode: RCODE.NXDOMAIN, authorities: [soa('example.com', 60, 300)] }, 60],
    ['NODATA, SOA minimum lower', { authorities: [soa('example.com', 3600, 120)] }, 120],
    ['NODATA, SOA TTL lower', { authorities: [soa('example.com', 30, 120)] }, 30],
    [
      'NXDOMAIN via CNAME',
      {
        rcode: RCODE.NXDOMAIN,
        answers: [cname('example.com', 600, 'gone.example.net')],
        authorities: [soa('example.net', 900, 200)],
      },
      200,
    ],
    ['NXDOMAIN without SOA', { rcode: RCODE.NXDOMAIN }, -1],
    ['NODATA without SOA', { authorities: [ns('example.com', 300, 'ns.example.com')] }, -1],
    [
      'NXDOMAIN with SOA only in additional',
      { rcode: RCODE.NXDOMAIN, additionals: [soa('example.com', 900, 300)] },
      -1,
    ],
    [
      'NOERROR with answers and an SOA',
      { answers: [a('example.com', 60)], authorities: [soa('example.com', 900, 300)] },
      -1,
    ],
    ['SERVFAIL with an SOA', { rcode: RCODE.SERVFAIL, authorities: [soa('example.com', 900, 300)] }, -1],
  ] satisfies [string, ResponseSpec, number][])('%s', (_label, spec, negativeTtlSec) => {
    expect(inspectResponse(buildResponse(spec))?.negativeTtlSec).toBe(negativeTtlSec);
  });

  test('the SOA minimum is read after compressed MNAME and RNAME', () => {
    const response = buildResponse({ rcode: RCODE.NXDOMAIN, authorities: [soa('example.com', 900, 250)] });
    const facts = inspectResponse(response);
    // dns2 compresses both names against the question: "ns1"+pointer (6) + "hostmaster"+pointer (13)
    // + 20 bytes of timers, where uncompressed it would be 17 + 24 + 20.
    expect(response.readUInt16BE((facts?.ttlOffsets[0] ?? 0) + 4)).toBe(39);
    expect(facts?.negativeTtlSec).toBe(250);
  });
});

describe('inspectResponse: CNAME targets', () => {
  test('a chain with compressed targets decodes lower-case, in order', () => {
    const response = buildResponse({
      name: 'www.Example.COM',
      answers: [
        cname('www.Example.COM', 300, 'CDN.example.net'),
        cname('CDN.example.net', 300, 'edge.Example.NET'),
        a('edge.Example.NET', 60),
      ],
    });
    const facts = inspectResponse(response);
    // The second target shares "example.net" with the first, so dns2 writes "edge" and a pointer:
    // 7 bytes of rdata instead of 18.
    expect(response.readUInt16BE((facts?.ttlOffsets[1] ?? 0) + 4)).toBe(7);
    expect(facts?.cnameTargets).toEqual(['cdn.example.net', 'edge.example.net']);
  });

  test.each([
    ['no CNAME', { answers: [a('example.com', 60)] }, []],
    ['CNAME in authority is not an answer', { authorities: [cname('example.com', 60, 'x.example.net')] }, []],
    ['CNAME in additional is not an answer', { additionals: [cname('example.com', 60, 'x.example.net')] }, []],
    ['CNAME to the root', { answers: [cname('example.com', 60, '')] }, ['']],
  ] satisfies [string, ResponseSpec, string[]][])('%s', (_label, spec, targets) => {
    expect(inspectResponse(buildResponse(spec))?.cnameTargets).toEqual(targets);
  });
});
