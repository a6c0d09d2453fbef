/**
 * A CIDR `client` filter on the fleet reads (issue 15): /fleet/events and /fleet/miner-logins
 * match the hosts inside the network, from PostgreSQL and, with PostgreSQL stopped, from the
 * local fallback exactly as the local /events and /miner-logins answer the same filter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockEvent } from '../helpers/block-events.js';
import { eventually, startMember } from '../helpers/fleet.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { postgresAvailable, startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import type { Stack } from '../helpers/stack.js';
import { STRATUM_LOGINS, connectStratum } from '../helpers/stratum-client.js';

interface Page {
  source?: string;
  events?: { clientIp: string }[];
  logins?: { clientIp: string }[];
}

describe.runIf(postgresAvailable())('a CIDR client filter on the fleet reads', () => {
  let server: PostgresServer;
  let upstream: LocalUpstream;
  let member: Stack;

  async function clientsOf(path: string): Promise<{ source: string | undefined; clients: string[] }> {
    const { status, body } = await member.api(path);
    expect(status, JSON.stringify(body)).toBe(200);
    const page = body as Page;
    const rows = page.events ?? page.logins ?? [];
    return { source: page.source, clients: rows.map((row) => row.clientIp).sort() };
  }

  beforeAll(async () => {
    server = await startPostgres();
    upstream = await startLocalUpstream();
    member = await startMember(server, {
      name: 'az-a',
      upstream: upstream.address,
      config: { block: { response: 'sinkhole', sinkholeIpv4: '127.0.0.1' }, honeypot: { listen: ['127.0.0.1:0'] } },
    });
    const honeypot = member.poolsink.honeypot?.plain[0]?.port;
    if (honeypot === undefined) throw new Error('honeypot not started');
    const now = Date.now();
    for (const [i, ip] of ['10.0.0.5', '10.0.0.77', '10.0.1.5', '10.0.0.5'].entries())
      member.poolsink.eventWriter.record(blockEvent(now + i, { clientIp: ip }));
    for (const localAddress of ['127.0.5.9', '127.0.6.9'])
      await STRATUM_LOGINS.monero(await connectStratum(honeypot, { localAddress }), 'wallet.rig');
    await eventually(async () => (await clientsOf('/api/v1/fleet/events')).clients.length === 4);
    await eventually(async () => (await clientsOf('/api/v1/fleet/miner-logins')).clients.length === 2);
  }, 120_000);
  afterAll(async () => {
    await member?.close();
    await upstream?.close();
    await server?.close();
  });

  it('matches the hosts inside the network, from PostgreSQL and from the local fallback alike', async () => {
    const fleetEvents = await clientsOf('/api/v1/fleet/events?client=10.0.0.0/24');
    expect(fleetEvents).toEqual({ source: 'fleet', clients: ['10.0.0.5', '10.0.0.5', '10.0.0.77'] });
    expect(await clientsOf('/api/v1/fleet/events?client=10.0.0.0/24&instance=az-a')).toEqual(fleetEvents);
    expect(await clientsOf('/api/v1/fleet/events?client=10.0.2.0/24')).toEqual({ source: 'fleet', clients: [] });
    expect(await clientsOf('/api/v1/fleet/miner-logins?client=127.0.5.0/24')).toEqual({
      source: 'fleet',
      clients: ['127.0.5.9'],
    });
    const badNetwork = await member.api('/api/v1/fleet/events?client=10.0.0.0/33');
    expect(badNetwork.status).toBe(400);
    expect(JSON.stringify(badNetwork.body)).toContain('client');

    await server.stop();
    try {
      await eventually(async () => (await clientsOf('/api/v1/fleet/events')).source === 'local');
      for (const network of ['10.0.0.0/24', '10.0.0.0/16', '10.0.2.0/24', '10.0.0.77', '127.0.5.0/24', '127.0.0.0/8']) {
        const query = `client=${encodeURIComponent(network)}`;
        const local = await clientsOf(`/api/v1/events?${query}`);
        expect(await clientsOf(`/api/v1/fleet/events?${query}`)).toEqual({ ...local, source: 'local' });
        const localLogins = await clientsOf(`/api/v1/miner-logins?${query}`);
        expect(await clientsOf(`/api/v1/fleet/miner-logins?${query}`)).toEqual({ ...localLogins, source: 'local' });
      }
      // Not a wider match than the network: the /24 leaves 10.0.1.5 out, as the local /events does.
      expect((await clientsOf('/api/v1/fleet/events?client=10.0.0.0/24')).clients).toEqual([
        '10.0.0.5',
        '10.0.0.5',
        '10.0.0.77',
      ]);
      expect((await clientsOf('/api/v1/fleet/miner-logins?client=127.0.6.0/24')).clients).toEqual(['127.0.6.9']);
    } finally {
      await server.start();
    }
  });
});
