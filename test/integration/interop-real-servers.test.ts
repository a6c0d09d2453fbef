/**
 * poolsink between real DNS software (issue 17): BIND 9 as the DNSSEC-signed authoritative
 * upstream (test/helpers/bind-server.ts), unbound as a validating resolver forwarding through
 * poolsink (unbound-server.ts), dig as the client. Skipped only where named/unbound are not
 * installed (.ci/run installs them).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasBind, SIGNED_ZONES, startBind, type BindServer } from '../helpers/bind-server.js';
import { hasUnbound, startUnbound, type UnboundServer } from '../helpers/unbound-server.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dig } from '../helpers/clients.js';

const POOLS = 'pool.nsec.test\npool.nsec3.test\n';

interface Shape {
  tc: boolean;
  answer: number;
  authority: number;
  additional: number;
  bytes: number;
}

/** What a dig answer looks like, for comparing poolsink's with BIND's own. */
function shapeOf(raw: string): Shape {
  const counts = /ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)/.exec(raw);
  const flags = /;; flags: ([a-z ]+);/.exec(raw)?.[1] ?? '';
  return {
    tc: flags.split(' ').includes('tc'),
    answer: Number(counts?.[1]),
    authority: Number(counts?.[2]),
    additional: Number(counts?.[3]),
    bytes: Number(/MSG SIZE {2}rcvd: (\d+)/.exec(raw)?.[1]),
  };
}

describe.skipIf(!hasBind() || !hasUnbound())('interop with BIND and unbound', () => {
  let bind: BindServer;
  const stacks: Stack[] = [];

  /** singleProcess: the test counts one resolver's cache hits (with dns.workers each process has its own). */
  async function poolsink(config: Record<string, unknown> = {}, singleProcess = false): Promise<Stack> {
    const stack = await startStack({
      singleProcess,
      upstreams: [`127.0.0.1:${bind.port}`],
      lists: { pools: { text: POOLS } },
      config: { upstreamTimeoutMs: 2_000, ...config },
    });
    stacks.push(stack);
    return stack;
  }

  beforeAll(async () => {
    bind = await startBind();
  }, 120_000);

  afterAll(async () => {
    for (const stack of stacks) await stack.close();
    await bind?.stop();
  });

  test('cookies of two clients never cross: poolsink returns no cookie of anyone else (it sends none)', async () => {
    const s = await poolsink({}, true);
    const cookieA = '0a0a0a0a0a0a0a0a';
    const cookieB = '0b0b0b0b0b0b0b0b';
    const first = await dig(s.port, ['www.nsec.test', `+cookie=${cookieA}`]);
    const second = await dig(s.port, ['www.nsec.test', `+cookie=${cookieB}`]); // from cache
    expect(s.poolsink.resolver.counters.cached).toBe(1);
    for (const reply of [first, second]) {
      expect(reply.status).toBe('NOERROR');
      expect(reply.raw).not.toContain('COOKIE'); // neither BIND's server cookie nor a client's
      expect(reply.raw).not.toMatch(/mismatch/i);
    }
    expect(second.raw).not.toContain(cookieA);
  });

  test('NSID only when asked and configured (dns.nsid), never the upstream’s', async () => {
    const plain = await poolsink();
    expect((await dig(plain.port, ['www.nsec.test', '+nsid'])).raw).not.toContain('NSID');
    const named = await poolsink({ dns: { listen: ['127.0.0.1:0'], nsid: 'poolsink-test' } });
    expect((await dig(named.port, ['www.nsec.test', '+nsid'])).raw).toContain('("poolsink-test")');
    expect((await dig(named.port, ['www.nsec.test'])).raw).not.toContain('NSID');
  });

  // Each query as small-buffer client then large (and the reverse), each compared with what BIND
  // itself sends that client: truncation, section counts and size (the OPTs are the same size).
  // One difference, on purpose: BIND may leave out the NS RRset from an authority section that
  // also holds a proof (a wildcard's NSEC3); poolsink cuts whole sections only, so when the
  // section fits it sends that NS RRset too (client-answer.ts).
  const cases = [
    ['c1.nsec.test', 'A'],
    ['big.nsec.test', 'TXT'],
    ['x.wild.nsec3.test', 'A'],
    ['nx.nsec.test', 'A'],
  ] as const;
  for (const order of [
    [512, 1232],
    [1232, 512],
  ] as const) {
    test(`buffer ${order[0]} then ${order[1]}: each client gets what BIND gives it`, async () => {
      const s = await poolsink();
      for (const [name, type] of cases) {
        for (const size of order) {
          const args = [name, type, '+dnssec', '+nocookie', '+ignore', `+bufsize=${size}`];
          const direct = shapeOf((await dig(bind.port, [...args, '+norec'])).raw);
          const through = shapeOf((await dig(s.port, args)).raw);
          expect(through.bytes).toBeLessThanOrEqual(size);
          if (through.authority > direct.authority && !direct.tc) {
            expect({ name, size, tc: through.tc, answer: through.answer }).toEqual({
              name,
              size,
              tc: false,
              answer: direct.answer,
            });
          } else {
            expect({ name, size, ...through }).toEqual({ name, size, ...direct });
          }
        }
      }
    });
  }

  test('an answer BIND truncates over UDP: poolsink retries over TCP, caches it whole, TC to UDP clients', async () => {
    const s = await poolsink({}, true);
    const args = ['huge.nsec.test', 'TXT', '+dnssec', '+nocookie', '+ignore'];
    expect(shapeOf((await dig(bind.port, [...args, '+norec'])).raw).tc).toBe(true);
    const viaUdp = shapeOf((await dig(s.port, args)).raw);
    expect(viaUdp.tc).toBe(true);
    expect(s.poolsink.upstream.stats.tcpRetries).toBe(1);
    const direct = shapeOf((await dig(bind.port, [...args, '+norec', '+tcp'])).raw);
    const viaTcp = shapeOf((await dig(s.port, [...args, '+tcp'])).raw); // from cache
    expect(viaTcp).toEqual(direct);
    expect(s.poolsink.resolver.counters.cached).toBe(1);
  });

  describe('unbound validating through poolsink', () => {
    let unbound: UnboundServer;
    beforeAll(async () => {
      const s = await poolsink();
      unbound = await startUnbound({ forwardPort: s.port, zones: SIGNED_ZONES, dsRecords: bind.dsRecords });
    }, 60_000);
    afterAll(async () => {
      await unbound?.stop();
    });

    test.each([
      ['positive', 'www.nsec.test', 'NOERROR'],
      ['CNAME chain', 'c1.nsec3.test', 'NOERROR'],
      ['wildcard (NSEC)', 'x.wild.nsec.test', 'NOERROR'],
      ['wildcard (NSEC3)', 'x.wild.nsec3.test', 'NOERROR'],
      ['NSEC negative', 'nx.nsec.test', 'NXDOMAIN'],
      ['NSEC3 negative', 'nx.nsec3.test', 'NXDOMAIN'],
    ])('%s answers validate (ad)', async (_label, name, status) => {
      const reply = await dig(unbound.port, [name, '+dnssec']);
      expect(reply.status).toBe(status);
      expect(reply.flags).toContain('ad');
    });

    // Documented in docs/deploying.md: poolsink's block answer carries no DNSSEC proof, so a
    // validator in front of it turns a blocked name inside a signed zone into SERVFAIL (with EDE).
    test('a blocked name inside a signed zone: SERVFAIL with EDE from the validator, still blocked', async () => {
      const reply = await dig(unbound.port, ['pool.nsec.test']);
      expect(reply.status).toBe('SERVFAIL');
      expect(reply.ede).toBeDefined();
      expect(reply.answers).toEqual([]);
    });
  });

  test('a blocked name in class CH is REFUSED; version.bind CH TXT is still forwarded', async () => {
    const s = await poolsink();
    const blocked = await dig(s.port, ['-c', 'CH', 'pool.nsec.test', 'TXT']);
    expect(blocked.status).toBe('REFUSED');
    expect(blocked.authority).toEqual([]);
    expect(blocked.ede).toMatch(/^15/);
    const version = await dig(s.port, ['-c', 'CH', 'version.bind', 'TXT']);
    const direct = await dig(bind.port, ['-c', 'CH', 'version.bind', 'TXT']);
    expect(version.status).toBe(direct.status);
    expect(version.answers).toEqual(direct.answers);
  });
});
