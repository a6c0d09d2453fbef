/**
 * The fleet PostgreSQL going away (issue 15): DNS carries on, events stay in the local store and
 * all ship once it is back, none twice; a restart in the middle of shipping loses nothing; a wrong
 * password or an unreachable server is a clear error and a degraded /healthz, never a crash.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CENTRAL_MIGRATIONS, migrateCentral, latestCentralVersion } from '../../src/central/migrations.js';
import { blockEvent } from '../helpers/block-events.js';
import { dig } from '../helpers/clients.js';
import { centralQuery, eventually, useFleet } from '../helpers/fleet.js';
import { freeDnsPort } from '../helpers/free-port.js';
import { postgresAvailable, type PostgresServer } from '../helpers/postgres-server.js';
import type { Stack } from '../helpers/stack.js';

async function centralCount(server: PostgresServer, instance: string): Promise<{ rows: number; distinct: number }> {
  const [row] = await centralQuery<{ rows: string; distinct: string }>(
    server,
    'SELECT count(*) AS rows, count(DISTINCT local_id) AS distinct FROM central_events WHERE instance = $1',
    [instance],
  );
  return { rows: Number(row?.rows), distinct: Number(row?.distinct) };
}

function localCount(stack: Stack): number {
  const row = stack.poolsink.store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get();
  return row?.n ?? -1;
}

describe.runIf(postgresAvailable())('the fleet PostgreSQL away', () => {
  const fleet = useFleet();

  it('keeps answering and recording while PostgreSQL is stopped, then ships every event once', async () => {
    const a = await fleet.startMember({ name: 'az-a' });
    expect((await dig(a.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    await eventually(async () => (await centralCount(fleet.server, 'az-a')).rows === 1);

    await fleet.server.stop();
    try {
      for (let i = 0; i < 5; i++) {
        expect((await dig(a.port, ['-b', `127.0.1.${i + 1}`, 'pool.example', 'A'])).status).toBe('NXDOMAIN');
      }
      expect((await dig(a.port, ['example.org', 'A'])).status).toBe('NOERROR');
      await eventually(async () => localCount(a) === 6);
      await eventually(async () => {
        const health = await a.api('/healthz', { token: null });
        return JSON.stringify(health.body).includes('central-unreachable');
      });
      const health = await a.api('/healthz', { token: null });
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'degraded', central: { reachable: false } });
      // The fleet view falls back to this instance's own log, and says so.
      const page = await a.api('/api/v1/fleet/events');
      expect(page.body).toMatchObject({ source: 'local', instance: 'az-a' });
      expect((page.body as { events: unknown[] }).events).toHaveLength(6);
    } finally {
      await fleet.server.start();
    }
    await eventually(async () => (await centralCount(fleet.server, 'az-a')).rows === 6);
    // Shipping again changes nothing: every event is there exactly once.
    await a.poolsink.fleet?.shipNow();
    expect(await centralCount(fleet.server, 'az-a')).toEqual({ rows: 6, distinct: 6 });
    await eventually(async () =>
      JSON.stringify((await a.api('/healthz', { token: null })).body).includes('"reachable":true'),
    );
    const page = await a.api('/api/v1/fleet/events');
    expect(page.body).toMatchObject({ source: 'fleet' });
  });

  it('loses and duplicates nothing when PostgreSQL restarts in the middle of shipping', async () => {
    const a = await fleet.startMember({ name: 'az-a', postgres: { batchSize: 200 } });
    const total = 20_000;
    const base = Date.now() - 60_000;
    for (let i = 0; i < total; i++) {
      a.poolsink.eventWriter.record(blockEvent(base + i, { clientIp: `10.0.${(i >> 8) & 255}.${i & 255}` }));
    }
    a.poolsink.eventWriter.flush();
    await eventually(async () => localCount(a) === total);
    await eventually(async () => (await centralCount(fleet.server, 'az-a')).rows > 0);
    await fleet.server.restart();
    await eventually(async () => (await centralCount(fleet.server, 'az-a')).rows === total, 60_000);
    expect(await centralCount(fleet.server, 'az-a')).toEqual({ rows: total, distinct: total });
    const [instance] = await centralQuery<{ last_local_id: string; shipped_events: string }>(
      fleet.server,
      "SELECT last_local_id, shipped_events FROM central_instances WHERE name = 'az-a'",
    );
    expect(Number(instance?.shipped_events)).toBe(total);
  }, 120_000);

  it('starts with a wrong password: a clear reason, degraded /healthz, the local view', async () => {
    const passwordFile = join(tmpdir(), `poolsink-wrong-pw-${process.pid}`);
    writeFileSync(passwordFile, 'not-the-password\n', { mode: 0o600 });
    const url = fleet.server.url().replace(/:[^:@/]+@/, '@'); // the password comes from the file only
    const a = await fleet.startMember({ name: 'az-a', postgres: { url, passwordFile } });
    expect((await dig(a.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    await eventually(async () => /password authentication failed/.test(a.poolsink.fleet?.status().lastError ?? ''));
    const health = await a.api('/healthz', { token: null });
    expect(health.body).toMatchObject({ status: 'degraded', reasons: ['central-unreachable'] });
    const page = await a.api('/api/v1/fleet/events');
    expect(page.body).toMatchObject({ source: 'local' });
    const incidents = await a.api('/api/v1/fleet/incidents');
    expect(incidents.status).toBe(503);
    expect(JSON.stringify(incidents.body)).toContain('password authentication failed');
  });

  it('starts with no server listening: connection refused, degraded, DNS served', async () => {
    const port = await freeDnsPort();
    const a = await fleet.startMember({
      name: 'az-a',
      postgres: { url: `postgres://poolsink@127.0.0.1:${port}/poolsink`, connectTimeoutMs: 500 },
    });
    expect((await dig(a.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    await eventually(async () => /ECONNREFUSED/.test(a.poolsink.fleet?.status().lastError ?? ''));
    const health = await a.api('/healthz', { token: null });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', reasons: ['central-unreachable'] });
  });

  it('migrates once when several instances start at the same time', async () => {
    await centralQuery(
      fleet.server,
      `DROP TABLE IF EXISTS central_events, central_hosts, central_incidents, central_instances, central_allowlist,
  central_lists, central_miner_logins, central_key_spaces, poolsink_schema;
DROP FUNCTION IF EXISTS poolsink_severity_max(text, text);
DROP FUNCTION IF EXISTS poolsink_event_partition(bigint);
DROP FUNCTION IF EXISTS poolsink_set_client_inet();
DROP FUNCTION IF EXISTS poolsink_client_inet(text)`,
    );
    const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString: fleet.server.url() }));
    await Promise.all(clients.map((client) => client.connect()));
    try {
      const versions = await Promise.all(clients.map((client) => migrateCentral(client)));
      expect(versions).toEqual(Array(4).fill(latestCentralVersion()));
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    const rows = await centralQuery<{ version: number }>(
      fleet.server,
      'SELECT version FROM poolsink_schema ORDER BY version',
    );
    // Each migration applied once, in order.
    expect(rows.map((r) => r.version)).toEqual(CENTRAL_MIGRATIONS.map((m) => m.version));
  });
});
