/**
 * A fleet read PostgreSQL does not answer in time (issue 15): a lock held on central_events (as a
 * long migration holds it), or every pooled connection busy, makes /api/v1/fleet/... answer from the
 * local view within central.postgres.readTimeoutMs, marked `source: "local"` with the reason
 * `timeout`, without marking PostgreSQL unreachable; once the lock is gone the fleet view is back,
 * and the shipping that waited on the lock carries on.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { blockEvent } from '../helpers/block-events.js';
import { runCli } from '../helpers/cli.js';
import { centralQuery, eventually, useFleet } from '../helpers/fleet.js';
import { postgresAvailable, type PostgresServer } from '../helpers/postgres-server.js';
import type { Stack } from '../helpers/stack.js';

interface EventsPage {
  source: string;
  fallback?: { kind: string; reason: string };
  events: unknown[];
}

async function fleetEvents(member: Stack): Promise<EventsPage> {
  const { status, body } = await member.api('/api/v1/fleet/events');
  expect(status, JSON.stringify(body)).toBe(200);
  return body as EventsPage;
}

async function centralEvents(server: PostgresServer): Promise<number> {
  const [row] = await centralQuery<{ n: string }>(server, 'SELECT count(*) AS n FROM central_events');
  return Number(row?.n);
}

/** A session holding ACCESS EXCLUSIVE on central_events inside an open transaction, as a migration does. */
async function lockEvents(server: PostgresServer): Promise<{ release(): Promise<void> }> {
  const session = new pg.Client({ connectionString: server.url() });
  await session.connect();
  await session.query('BEGIN');
  await session.query('LOCK TABLE central_events IN ACCESS EXCLUSIVE MODE');
  return {
    async release() {
      await session.query('ROLLBACK');
      await session.end();
    },
  };
}

/** Whether a poolsink connection waits for a lock on the server (the shipper behind the test's lock). */
async function poolsinkWaitsForLock(server: PostgresServer): Promise<boolean> {
  const rows = await centralQuery(
    server,
    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'poolsink' AND wait_event_type = 'Lock'",
  );
  return rows.length > 0;
}

describe.runIf(postgresAvailable())('a fleet read PostgreSQL does not answer in time', () => {
  const fleet = useFleet();

  it('answers from the local view, marked as a timeout, while a lock is held; the fleet view after', async () => {
    const a = await fleet.startMember({ name: 'az-a', postgres: { readTimeoutMs: 300 } });
    a.poolsink.eventWriter.record(blockEvent(Date.now(), { clientIp: '10.0.0.5' }));
    await eventually(async () => {
      const page = await fleetEvents(a);
      return page.source === 'fleet' && page.events.length === 1;
    });

    const lock = await lockEvents(fleet.server);
    try {
      const page = await fleetEvents(a);
      expect(page.source).toBe('local');
      expect(page.fallback?.kind).toBe('timeout');
      expect(page.fallback?.reason).toMatch(/read timed out after 300 ms/);
      expect(page.events).toHaveLength(1);
      // Another instance's rows are only in PostgreSQL: none, marked the same way.
      const other = (await a.api('/api/v1/fleet/events?instance=az-b')).body as EventsPage;
      expect(other).toMatchObject({ source: 'local', fallback: { kind: 'timeout' }, events: [] });
      // The CLI's --fleet reads through the same API, and says why it prints the local view.
      const config = join(a.dir, 'cli.yaml');
      const adminPort = a.poolsink.admin.address.port;
      writeFileSync(config, `upstreams: ["127.0.0.1:9"]\ndataDir: data\nadmin: { listen: "127.0.0.1:${adminPort}" }\n`);
      const cli = await runCli(['events', '--fleet', '--config', config]);
      expect(cli).toMatchObject({ code: 0, stderr: '' });
      expect(cli.stdout.split('\n')[0]).toBe(
        '(local view: PostgreSQL did not answer within central.postgres.readTimeoutMs)',
      );
      expect(cli.stdout).toContain('10.0.0.5');
      // A slow read is not an outage: /healthz keeps PostgreSQL reachable.
      expect((await a.api('/healthz', { token: null })).body).toMatchObject({ central: { reachable: true } });
      // Shipping is not bounded by readTimeoutMs: a new event's batch waits behind the lock.
      a.poolsink.eventWriter.record(blockEvent(Date.now(), { clientIp: '10.0.0.6' }));
      await eventually(() => poolsinkWaitsForLock(fleet.server));
    } finally {
      await lock.release();
    }
    // The batch that waited behind the lock ships, and the next read is the fleet view again.
    await eventually(async () => (await centralEvents(fleet.server)) === 2);
    const after = await fleetEvents(a);
    expect(after.source, JSON.stringify(after.fallback)).toBe('fleet');
    expect(after.fallback).toBeUndefined();
    expect(after.events).toHaveLength(2);
  });

  it('bounds the wait for a pooled connection too', async () => {
    // One pooled connection, taken by the shipper waiting behind the lock: the read waits for the pool.
    const a = await fleet.startMember({ name: 'az-a', postgres: { readTimeoutMs: 300, pool: { max: 1 } } });
    a.poolsink.eventWriter.record(blockEvent(Date.now(), { clientIp: '10.0.0.5' }));
    await eventually(async () => (await fleetEvents(a)).events.length === 1);

    const lock = await lockEvents(fleet.server);
    try {
      a.poolsink.eventWriter.record(blockEvent(Date.now(), { clientIp: '10.0.0.6' }));
      await eventually(() => poolsinkWaitsForLock(fleet.server));
      const page = await fleetEvents(a);
      expect(page).toMatchObject({ source: 'local', fallback: { kind: 'timeout' } });
      expect(page.fallback?.reason).toMatch(/a pooled connection/);
      expect(page.events).toHaveLength(2);
    } finally {
      await lock.release();
    }
    await eventually(async () => (await centralEvents(fleet.server)) === 2);
    expect(await fleetEvents(a)).toMatchObject({ source: 'fleet' });
  });
});
