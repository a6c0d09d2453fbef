/**
 * client-answer.ts (issue 17): the upstream's OPT is cut out (only its EDEs carry on), each
 * client gets its own OPT, and an answer too big for the client loses its additional section,
 * then an NS-only authority section of a positive answer, before it is sent with TC.
 */
import { describe, expect, test } from 'vitest';
import { buildClientAnswer, withoutOpt } from '../../src/wire/client-answer.js';
import { inspectResponse } from '../../src/wire/inspect-response.js';
import { createParsedQuery, PARSE, parseQuery, type ParsedQuery } from '../../src/wire/query.js';
import { buildAnswer, readQuery, TYPE, type AnswerSpec } from '../helpers/answers.js';
import { encodeQuery, findOptRdata, type QueryOptions } from '../helpers/packets.js';

const EDE_OPTION = { code: 15, data: Buffer.from([0, 3, 0x61]) }; // Stale Answer, text "a"
const UPSTREAM_OPT = {
  udpSize: 4096,
  dnssecOk: true,
  options: [{ code: 10, data: Buffer.alloc(24, 7) }, { code: 3, data: Buffer.from('up') }, EDE_OPTION],
};

function clientQuery(options: QueryOptions = {}): { query: Buffer; parsed: ParsedQuery } {
  const query = encodeQuery('Www.Example.ORG', { id: 0x5151, ...options });
  const parsed = createParsedQuery();
  if (parseQuery(query, parsed) !== PARSE.OK) throw new Error('test query does not parse');
  return { query, parsed };
}

function fitted(spec: AnswerSpec, client: { query: Buffer; parsed: ParsedQuery }, limit: number): Buffer {
  const upstream = buildAnswer(readQuery(encodeQuery('www.example.org', { edns: {} }))!, spec);
  const facts = inspectResponse(upstream)!;
  const { body, facts: bodyFacts } = withoutOpt(upstream, facts);
  return buildClientAnswer(body, bodyFacts, client.query, client.parsed, limit);
}

/** Option codes of a message's OPT, or undefined without one. */
function optionCodes(message: Buffer): number[] | undefined {
  const rdata = findOptRdata(message);
  if (rdata === undefined) return undefined;
  const codes: number[] = [];
  for (let pos = 0; pos + 4 <= rdata.length; pos += 4 + rdata.readUInt16BE(pos + 2))
    codes.push(rdata.readUInt16BE(pos));
  return codes;
}

const counts = (m: Buffer): number[] => [m.readUInt16BE(6), m.readUInt16BE(8), m.readUInt16BE(10)];
const tc = (m: Buffer): boolean => (m[2]! & 0x02) !== 0;

const A = { type: 'A', address: '192.0.2.1' } as const;
const SIG = (covered: number) => ({ type: 'RRSIG', typeCovered: covered, signer: 'example.org' }) as const;
const NS = { type: 'NS', name: 'example.org', target: 'ns.example.org' } as const;
const GLUE = { type: 'A', name: 'ns.example.org', address: '192.0.2.53' } as const;

describe('the client’s own OPT', () => {
  test('no OPT for a client that sent none, whatever the upstream sent', () => {
    const out = fitted({ answers: [A], edns: UPSTREAM_OPT }, clientQuery(), 512);
    expect(optionCodes(out)).toBeUndefined();
    expect(counts(out)).toEqual([1, 0, 0]);
    expect(out.readUInt16BE(0)).toBe(0x5151);
    expect(out.subarray(12, 29).toString('latin1')).toContain('Www');
  });

  test('the upstream’s cookie and NSID never reach the client; its EDE does; NSID is poolsink’s when asked', () => {
    const client = clientQuery({ edns: { dnssecOk: true, options: Buffer.from([0, 3, 0, 0]) } });
    client.parsed.replyNsid = Buffer.from('ps');
    const out = fitted({ answers: [A], edns: UPSTREAM_OPT }, client, 1232);
    expect(optionCodes(out)).toEqual([3, 15]);
    expect(out.includes(Buffer.from('ps'))).toBe(true);
    expect(out.includes(Buffer.from('up'))).toBe(false);
    expect(out.includes(Buffer.alloc(24, 7))).toBe(false);
    const rdata = findOptRdata(out)!;
    expect(rdata.subarray(rdata.length - 7)).toEqual(Buffer.from([0, 15, 0, 3, 0, 3, 0x61]));
  });
});

describe('fitting the client’s size', () => {
  const positive: AnswerSpec = {
    answers: [A, SIG(TYPE.A)],
    authority: [NS, SIG(TYPE.NS)],
    additional: [GLUE, SIG(TYPE.A)],
  };
  const edns = clientQuery({ edns: { dnssecOk: true } });

  test('everything when it fits', () => {
    expect(counts(fitted(positive, edns, 1232))).toEqual([2, 2, 3]);
  });

  test('without the additional section (OPT kept), then without an NS-only authority: TC clear', () => {
    const whole = fitted(positive, edns, 1232).length;
    const noAdditional = fitted(positive, edns, whole - 1);
    expect([counts(noAdditional), tc(noAdditional)]).toEqual([[2, 2, 1], false]);
    const noAuthority = fitted(positive, edns, noAdditional.length - 1);
    expect([counts(noAuthority), tc(noAuthority)]).toEqual([[2, 0, 1], false]);
    const truncated = fitted(positive, edns, noAuthority.length - 1);
    expect([counts(truncated), tc(truncated)]).toEqual([[0, 0, 1], true]);
  });

  test('an authority holding a proof (NSEC) is never left out: TC instead', () => {
    const nsec = { type: 47, name: 'a.example.org', rdata: Buffer.from([1, 0x7a, 0, 0, 1, 0x40]) };
    const wildcard: AnswerSpec = { answers: [A, SIG(TYPE.A)], authority: [NS, nsec, SIG(47)] };
    const whole = fitted(wildcard, edns, 1232);
    const small = fitted(wildcard, edns, whole.length - 1);
    expect([counts(small), tc(small)]).toEqual([[0, 0, 1], true]);
  });
});
