/**
 * Two poolsink instances and one real PostgreSQL (issue 15): events of either appear in both admin
 * APIs, an allowlist entry added at one applies at the other, one host blocked at both is one
 * fleet incident notified once.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { dig } from '../helpers/clients.js';
import { centralQuery, eventually, useFleet } from '../helpers/fleet.js';
import { startListServer } from '../helpers/list-server.js';
import { startHttpReceiver } from '../helpers/notify-receivers.js';
import { postgresAvailable } from '../helpers/postgres-server.js';
import type { Stack } from '../helpers/stack.js';

interface FleetPage {
  source: string;
  events: { instance: string; qname: string; clientIp: string }[];
}

describe.runIf(postgresAvailable())('a fleet of two instances on one PostgreSQL', () => {
  const fleet = useFleet();

  it('shows the blocks of either instance in both admin APIs, each with its instance', async () => {
    const [a, b] = await fleet.startPair();
    expect((await dig(a.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    expect((await dig(b.port, ['-b', '127.0.0.2', 'minexmr.test', 'A'])).status).toBe('NXDOMAIN');
    for (const stack of [a, b]) {
      await eventually(async () => {
        const { body } = await stack.api('/api/v1/fleet/events');
        return (body as FleetPage).events.length === 2;
      });
      const { status, body } = await stack.api('/api/v1/fleet/events');
      expect(status).toBe(200);
      const page = body as FleetPage;
      expect(page.source).toBe('fleet');
      expect(page.events.map((e) => `${e.instance} ${e.clientIp} ${e.qname}`).sort()).toEqual([
        'az-a 127.0.0.1 pool.example',
        'az-b 127.0.0.2 minexmr.test',
      ]);
    }
    const { body } = await a.api('/api/v1/fleet/events?instance=az-b');
    expect((body as FleetPage).events.map((e) => e.instance)).toEqual(['az-b']);
    const hosts = await b.api('/api/v1/fleet/hosts');
    expect((hosts.body as { hosts: { clientIp: string; instance: string }[] }).hosts).toHaveLength(2);
    const health = await a.api('/healthz', { token: null });
    expect(health.body).toMatchObject({ status: 'ok', central: { reachable: true } });
    const instances = await a.api('/api/v1/fleet/instances');
    expect(instances.body).toMatchObject({ instance: 'az-a', central: { reachable: true } });
    // The OpenAPI document of a fleet member describes the /fleet routes, and is still valid.
    const doc = (await a.api('/api/v1/openapi.json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/api/v1/fleet/events');
    expect((await new Validator().validate(doc)).valid).toBe(true);
  });

  it('shares a runtime list with its resolveForIps, and a change of it', async () => {
    const feeds = await startListServer();
    try {
      feeds.set('/pools.txt', { body: 'shared.pool.example\n' });
      const [a, b] = await fleet.startPair({ lists: { allowPrivateSources: ['127.0.0.0/8'] } });
      const added = await a.api('/api/v1/lists', {
        method: 'POST',
        body: { name: 'shared', source: feeds.url('/pools.txt'), resolveForIps: true },
      });
      expect(added.status).toBe(201);
      const sharedAt = async (stack: Stack): Promise<{ resolveForIps: boolean } | undefined> => {
        const { body } = await stack.api('/api/v1/lists');
        return (body as { lists: { name: string; resolveForIps: boolean }[] }).lists.find((l) => l.name === 'shared');
      };
      await eventually(async () => (await sharedAt(b))?.resolveForIps === true);
      expect(b.poolsink.lists.namesToResolve()).toContainEqual({ list: 'shared', names: ['shared.pool.example'] });
      const patched = await b.api('/api/v1/lists/shared', { method: 'PATCH', body: { resolveForIps: false } });
      expect(patched.status).toBe(200);
      await eventually(async () => (await sharedAt(a))?.resolveForIps === false);
    } finally {
      await feeds.close();
    }
  });

  it('applies an allowlist entry added at one instance at the other within 5 s', async () => {
    const [a, b] = await fleet.startPair();
    expect((await dig(b.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    // Both have made first contact (their LISTEN is up) before the change.
    await a.poolsink.fleet?.syncListsNow();
    await b.poolsink.fleet?.syncListsNow();
    const added = await a.api('/api/v1/allowlist', { method: 'POST', body: { domain: 'pool.example' } });
    expect(added.status).toBe(201);
    const startedMs = Date.now();
    await eventually(async () => (await dig(b.port, ['pool.example', 'A'])).status === 'NOERROR', 5_000);
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    const entries = await b.api('/api/v1/allowlist');
    expect(JSON.stringify(entries.body)).toContain('pool.example');
    // And its removal at b reaches a.
    const removed = await b.api('/api/v1/allowlist?domain=pool.example', { method: 'DELETE' });
    expect(removed.status).toBe(204);
    await eventually(async () => (await dig(a.port, ['pool.example', 'A'])).status === 'NXDOMAIN', 5_000);
  });

  it('makes one host blocked at both instances one incident, notified once', async () => {
    const sink = fleet.closeAfterTest(await startHttpReceiver());
    const [a, b] = await fleet.startPair({
      notify: [{ name: 'hook', type: 'webhook', url: sink.url, events: ['incident.opened'] }],
    });
    expect((await dig(a.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    expect((await dig(b.port, ['minexmr.test', 'A'])).status).toBe('NXDOMAIN');
    await eventually(async () => {
      const rows = await centralQuery<{ instances: string[]; notified_by: string | null }>(
        fleet.server,
        'SELECT instances, notified_by FROM central_incidents',
      );
      return rows.length === 1 && rows[0]?.instances.length === 2 && rows[0].notified_by !== null;
    });
    const incidents = await centralQuery<{ client_ip: string; attempts: string }>(
      fleet.server,
      'SELECT client_ip, attempts FROM central_incidents',
    );
    expect(incidents).toEqual([{ client_ip: '127.0.0.1', attempts: '2' }]);
    await eventually(async () => sink.posts.length >= 1);
    // Both ship and claim again: nothing is left to notify.
    await a.poolsink.fleet?.shipNow();
    await b.poolsink.fleet?.shipNow();
    expect(sink.posts).toHaveLength(1);
    const message = JSON.parse(sink.posts[0]?.body ?? '{}') as { type: string; data: Record<string, unknown> };
    expect(message.type).toBe('incident.opened');
    expect(message.data).toMatchObject({ scope: 'fleet', client: '127.0.0.1' });
    for (const stack of [a, b]) {
      const { body } = await stack.api('/api/v1/fleet/incidents');
      const list = (body as { incidents: { id: number; instances: string[] }[] }).incidents;
      expect(list).toHaveLength(1);
      expect([...(list[0]?.instances ?? [])].sort()).toEqual(['az-a', 'az-b']);
    }
    // Acknowledged at b: a sees the state.
    const id = (await centralQuery<{ id: string }>(fleet.server, 'SELECT id FROM central_incidents'))[0]?.id;
    const ack = await b.api(`/api/v1/fleet/incidents/${id}/acknowledge`, { method: 'POST', body: { note: 'on it' } });
    expect(ack.status).toBe(200);
    const seen = await a.api('/api/v1/fleet/incidents?state=acknowledged');
    expect((seen.body as { incidents: unknown[] }).incidents).toHaveLength(1);
  });
});
