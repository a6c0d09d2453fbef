/**
 * Client EDNS options through the whole stack: what the local upstream receives (its raw bytes)
 * when a client sends Client Subnet (8) and COOKIE (10), with `dns.ecs` strip (default) and forward.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { defaultIpv4 } from '../helpers/local-upstream.js';
import { singleProcessStack, type Cleanups } from '../helpers/single-process-stack.js';
import { udpExchange } from '../helpers/clients.js';
import { encodeQuery, findOptRdata, rcodeOf } from '../helpers/packets.js';

const cleanups: Cleanups = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Counts one resolver's cache hits: with dns.workers each process has its own cache.
const stackWith = (config?: Record<string, unknown>) => singleProcessStack(cleanups, config);

function option(code: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

/** ECS for an IPv4 /24 (RFC 7871): family 1, source prefix 24, scope 0, three address bytes. */
const ecs = (a: number, b: number, c: number): Buffer => option(8, Buffer.from([0, 1, 24, 0, a, b, c]));
const cookie = option(10, Buffer.from('0123456789abcdef', 'hex'));
const nsid = option(3, Buffer.alloc(0));

/** The option codes, in order, in a message's OPT record. */
function optionCodes(message: Buffer): number[] {
  const rdata = findOptRdata(message) ?? Buffer.alloc(0);
  const codes: number[] = [];
  for (let pos = 0; pos + 4 <= rdata.length; pos += 4 + rdata.readUInt16BE(pos + 2)) {
    codes.push(rdata.readUInt16BE(pos));
  }
  return codes;
}

/** True if `reply` holds one answer record whose rdata is `address`. */
function answersWith(reply: Buffer, address: string): boolean {
  const rdata = Buffer.from(address.split('.').map(Number));
  return reply.readUInt16BE(6) === 1 && reply.includes(Buffer.concat([Buffer.from([0, 4]), rdata]));
}

describe('client EDNS options on forwarded queries', () => {
  test('by default, no client option reaches the upstream (ECS, cookie, NSID: issue 17); answer correct', async () => {
    const { stack, upstream } = await stackWith();
    const query = encodeQuery('ecs.example', { edns: { options: Buffer.concat([ecs(192, 0, 2), cookie, nsid]) } });
    const reply = await udpExchange(stack.port, query);
    expect(rcodeOf(reply!)).toBe(0);
    expect(answersWith(reply!, defaultIpv4('ecs.example'))).toBe(true);
    const [sent] = await upstream.waitForQueries(1);
    expect(optionCodes(sent!.bytes)).toEqual([]);
    expect(sent!.bytes.length).toBe(query.length - ecs(192, 0, 2).length - cookie.length - nsid.length);
  });

  test('with dns.ecs: forward, ECS reaches the upstream (the cookie does not), and two subnets are two cache entries', async () => {
    const { stack, upstream } = await stackWith({ dns: { listen: ['127.0.0.1:0'], ecs: 'forward' } });
    const first = encodeQuery('subnet.example', { id: 1, edns: { options: Buffer.concat([ecs(192, 0, 2), cookie]) } });
    const second = encodeQuery('subnet.example', { id: 2, edns: { options: ecs(198, 51, 100) } });
    expect(rcodeOf((await udpExchange(stack.port, first))!)).toBe(0);
    expect(rcodeOf((await udpExchange(stack.port, second))!)).toBe(0);
    // The same subnet again is a cache hit.
    expect(rcodeOf((await udpExchange(stack.port, first))!)).toBe(0);
    const sent = await upstream.waitForQueries(2);
    expect(sent).toHaveLength(2);
    expect(sent.map((q) => optionCodes(q.bytes))).toEqual([[8], [8]]);
    expect(
      findOptRdata(sent[1]!.bytes)!
        .subarray(4)
        .equals(Buffer.from([0, 1, 24, 0, 198, 51, 100])),
    ).toBe(true);
    expect(stack.poolsink.resolver.counters.cached).toBe(1);
  });

  test('a malformed option list (an option running past the OPT) is not forwarded', async () => {
    const { stack, upstream } = await stackWith();
    const bad = Buffer.from([0, 8, 0, 40, 0, 1]); // ECS declaring 40 bytes, 2 present
    const query = encodeQuery('badopt.example', { edns: { options: bad } });
    const reply = await udpExchange(stack.port, query);
    expect(rcodeOf(reply!)).toBe(0);
    const [sent] = await upstream.waitForQueries(1);
    expect(optionCodes(sent!.bytes)).toEqual([]);
    expect(sent!.bytes.length).toBe(query.length - bad.length);
  });
});
