import { describe, expect, test } from 'vitest';
import { TRUNCATED, checkReply, isReplyTo } from '../../src/upstream/reply-check.js';
import { inspectResponse } from '../../src/wire/inspect-response.js';
import { buildAnswer, readQuery, truncatedFor, type AnswerSpec } from '../helpers/answers.js';
import { encodeQuery } from '../helpers/packets.js';

const sent = encodeQuery('Pool.Example.test', { id: 0x4242, edns: { dnssecOk: true } });
const query = readQuery(sent)!;
const questionEnd = 12 + query.question.length;
const spec: AnswerSpec = { compress: true, answers: [{ type: 'A', address: '192.0.2.1' }] };
const answer = buildAnswer(query, spec);

function questionFor(name: string, type = 1, qclass = 1) {
  return readQuery(encodeQuery(name, { id: 0x4242, type, qclass }))!;
}

function patched(bytes: Buffer, offset: number, value: number): Buffer {
  const out = Buffer.from(bytes);
  out[offset] = value;
  return out;
}

describe('isReplyTo', () => {
  test.each<[string, Buffer]>([
    ['the answer', answer],
    ['the question in another letter case', buildAnswer(questionFor('POOL.EXAMPLE.TEST'), spec)],
    ['NXDOMAIN with an SOA', buildAnswer(query, { rcode: 3, authority: [{ type: 'SOA', minimum: 30 }] })],
    ['a truncated answer without records', truncatedFor(answer, query)],
    ['a TC=1 answer whose records are cut short', patched(answer.subarray(0, answer.length - 3), 2, answer[2]! | 0x02)],
    ['an answer with no records at all', buildAnswer(query, { edns: false })],
  ])('accepts %s', (_label, reply) => {
    expect(isReplyTo(reply, sent, questionEnd)).toBe(true);
  });

  test.each<[string, Buffer]>([
    ['an empty message', Buffer.alloc(0)],
    ['a header only', answer.subarray(0, 12)],
    ['a question cut short', answer.subarray(0, questionEnd - 1)],
    ['QR=0', patched(answer, 2, answer[2]! & 0x7f)],
    ['another opcode', patched(answer, 2, answer[2]! | 0x10)],
    ['QDCOUNT 0', patched(answer, 5, 0)],
    ['QDCOUNT 2', patched(answer, 5, 2)],
    ['another name', buildAnswer(questionFor('pool.example.tesu'), spec)],
    ['a longer name', buildAnswer(questionFor('pool.example.test.evil'), spec)],
    ['a shorter name', buildAnswer(questionFor('example.test'), spec)],
    ['another type', buildAnswer(questionFor('pool.example.test', 28), spec)],
    ['another class', buildAnswer(questionFor('pool.example.test', 1, 3), spec)],
    [
      'a compressed question name',
      Buffer.concat([answer.subarray(0, 12), Buffer.from([0xc0, 12]), answer.subarray(questionEnd - 4)]),
    ],
    ['a record cut short', answer.subarray(0, answer.length - 1)],
    ['trailing garbage', Buffer.concat([answer, Buffer.from([0])])],
    ['more records counted than present', patched(answer, 7, answer[7]! + 1)],
    ['a record with a forward pointer', patched(answer, questionEnd + 1, 0xff)],
  ])('rejects %s', (_label, reply) => {
    expect(isReplyTo(reply, sent, questionEnd)).toBe(false);
  });
});

describe('checkReply hands on what it read, so the reply is parsed once', () => {
  test.each<[string, Buffer]>([
    ['the answer', answer],
    ['NXDOMAIN with an SOA', buildAnswer(query, { rcode: 3, authority: [{ type: 'SOA', minimum: 30 }] })],
    ['an answer with no records at all', buildAnswer(query, { edns: false })],
  ])('%s: the facts inspectResponse reads', (_label, reply) => {
    const facts = checkReply(reply, sent, questionEnd);
    expect(facts).not.toBe(TRUNCATED);
    expect(facts).toEqual(inspectResponse(reply));
  });

  test('a truncated reply is not read: TRUNCATED', () => {
    expect(checkReply(truncatedFor(answer, query), sent, questionEnd)).toBe(TRUNCATED);
  });

  test('not a reply: undefined', () => {
    expect(checkReply(patched(answer, 2, answer[2]! & 0x7f), sent, questionEnd)).toBeUndefined();
  });
});
