/**
 * Amplification limits through the whole stack over loopback UDP: UDP answers are capped at
 * dns.maxUdpPayload whatever buffer the client advertises, and ANY is answered locally per
 * RFC 8482 without reaching the upstream. Sizes are asserted in bytes.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { behaviors } from '../helpers/local-upstream.js';
import { singleProcessStack, type Cleanups } from '../helpers/single-process-stack.js';
import { udpExchange } from '../helpers/clients.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';

const cleanups: Cleanups = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Reads one resolver's counters (truncated, blocked): with dns.workers the primary's is idle.
const stackWith = (config?: Record<string, unknown>) => singleProcessStack(cleanups, config);

const FLAG_TC = 0x0200;
const TYPE_ANY = 255;
const TYPE_HINFO = 13;

/** About 2,100 bytes of TXT records: more than 1232, less than 4096. */
const bigTxt = behaviors.answer({
  answers: Array.from({ length: 20 }, (_, i) => ({ type: 'TXT' as const, text: `${i}-${'x'.repeat(90)}` })),
});

describe('UDP answer size cap (dns.maxUdpPayload)', () => {
  test('a client advertising 4096 gets at most 1232 bytes: a bigger answer is truncated (TC=1)', async () => {
    const { stack, upstream } = await stackWith();
    upstream.setBehavior(bigTxt);
    const query = encodeQuery('big.example', { type: 16, edns: { udpSize: 4096 } });
    const reply = await udpExchange(stack.port, query);
    expect(reply).toBeDefined();
    expect(reply!.length).toBeLessThanOrEqual(1232);
    expect(reply!.readUInt16BE(2) & FLAG_TC).toBe(FLAG_TC);
    expect(reply!.readUInt16BE(6)).toBe(0); // no answer records in the truncated reply
    expect(stack.poolsink.resolver.counters.truncated).toBe(1);
  });

  test('a configured larger cap lets the same answer through whole over UDP', async () => {
    const { stack, upstream } = await stackWith({ dns: { listen: ['127.0.0.1:0'], maxUdpPayload: 4096 } });
    upstream.setBehavior(bigTxt);
    const reply = await udpExchange(stack.port, encodeQuery('big.example', { type: 16, edns: { udpSize: 4096 } }));
    expect(reply!.length).toBeGreaterThan(1232);
    expect(reply!.readUInt16BE(2) & FLAG_TC).toBe(0);
    expect(reply!.readUInt16BE(6)).toBe(20);
  });
});

describe('ANY (RFC 8482)', () => {
  test('ANY with a 4096-byte buffer gets one small synthesized HINFO record; the upstream sees nothing', async () => {
    const { stack, upstream } = await stackWith();
    upstream.setBehavior(bigTxt); // what a forwarded ANY would have returned
    const query = encodeQuery('Victim.Example', { type: TYPE_ANY, edns: { udpSize: 4096 } });
    const reply = await udpExchange(stack.port, query);
    expect(reply).toBeDefined();
    expect(rcodeOf(reply!)).toBe(0);
    expect(reply!.readUInt16BE(2) & FLAG_TC).toBe(0);
    expect(reply!.readUInt16BE(6)).toBe(1);
    expect(reply!.length).toBeLessThan(query.length + 40); // ratio about 1
    // The question as asked, then the HINFO: owner → question name, TTL 3600, "RFC8482" "".
    const rr = query.length - 11; // the query's OPT (11 bytes) is where the answer starts
    expect(reply!.subarray(12, rr).equals(query.subarray(12, rr))).toBe(true);
    expect(reply!.readUInt16BE(rr)).toBe(0xc00c);
    expect(reply!.readUInt16BE(rr + 2)).toBe(TYPE_HINFO);
    expect(reply!.readUInt32BE(rr + 6)).toBe(3600);
    expect(reply!.subarray(rr + 12, rr + 12 + reply!.readUInt16BE(rr + 10)).toString('latin1')).toBe('\x07RFC8482\x00');
    expect(upstream.queries).toHaveLength(0);
  });

  test('a blocked name asked for ANY still gets the block answer', async () => {
    const { stack, upstream } = await stackWith();
    const reply = await udpExchange(stack.port, encodeQuery('pool.example', { type: TYPE_ANY }));
    expect(rcodeOf(reply!)).toBe(3); // NXDOMAIN, the default block answer
    expect(stack.poolsink.resolver.counters.blocked).toBe(1);
    expect(upstream.queries).toHaveLength(0);
  });
});
