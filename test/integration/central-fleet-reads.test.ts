/**
 * The fleet reads' filters and pages (issue 15), from PostgreSQL and from the local fallback with
 * PostgreSQL stopped: a CIDR `client` filter on /fleet/events and /fleet/miner-logins matches the
 * hosts inside the network exactly as the local /events and /miner-logins do; /fleet/hosts pages
 * by keyset, every host once.
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
  hosts?: { clientIp: string; instance: string }[];
  nextCursor?: string | null;
  events?: { clientIp: string }[];
  logins?: { clientIp: string }[];
}

describe.runIf(postgresAvailable())('filters and pages of the fleet reads', () => {
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

  /** Every host of /fleet/hosts, `limit` a page, following nextCursor; and the source of the pages. */
  async function allHosts(limit: number): Promise<{ sources: string[]; hosts: string[]; pages: number }> {
    const sources: string[] = [];
    const hosts: string[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const query = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await member.api(`/api/v1/fleet/hosts?${query}`);
      expect(status, JSON.stringify(body)).toBe(200);
      const page = body as Page;
      sources.push(page.source ?? '');
      hosts.push(...(page.hosts ?? []).map((h) => `${h.instance} ${h.clientIp}`));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 20);
    return { sources: [...new Set(sources)], hosts, pages };
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

  it('filters by network and pages hosts, from PostgreSQL and from the local fallback alike', async () => {
    const fleetEvents = await clientsOf('/api/v1/fleet/events?client=10.0.0.0/24');
    expect(fleetEvents).toEqual({ source: 'fleet', clients: ['10.0.0.5', '10.0.0.5', '10.0.0.77'] });
    expect(await clientsOf('/api/v1/fleet/events?client=10.0.0.0/24&instance=az-a')).toEqual(fleetEvents);
    expect(await clientsOf('/api/v1/fleet/events?client=10.0.2.0/24')).toEqual({ source: 'fleet', clients: [] });
    expect(await clientsOf('/api/v1/fleet/miner-logins?client=127.0.5.0/24')).toEqual({
      source: 'fleet',
      clients: ['127.0.5.9'],
    });
    // Hosts in keyset pages: each once, newest first.
    const everyHost = ['az-a 10.0.0.5', 'az-a 10.0.0.77', 'az-a 10.0.1.5'];
    const whole = await allHosts(100);
    expect(whole).toMatchObject({ sources: ['fleet'], pages: 1 });
    expect([...whole.hosts].sort()).toEqual(everyHost);
    expect(await allHosts(1)).toEqual({ sources: ['fleet'], hosts: whole.hosts, pages: 3 });
    expect((await member.api('/api/v1/fleet/hosts?cursor=bm9wZQ')).status).toBe(400);

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
      const localHosts = await allHosts(100);
      expect(localHosts).toMatchObject({ sources: ['local'], pages: 1 });
      expect([...localHosts.hosts].sort()).toEqual(everyHost);
      expect(await allHosts(2)).toEqual({ sources: ['local'], hosts: localHosts.hosts, pages: 2 });
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
