/**
 * Where the first events of a fleet member land: today's partitions exist before its first
 * shipping batch, even while another instance's maintenance pass holds the lock; two instances
 * creating the same day at once both succeed; a backlog of an instance that was away
 * for days (the whole fleet with it: those days have no partition) moves out of the default
 * partition at once, not at the next hourly pass. Real PostgreSQL and real members.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DAY_MS,
  dayOf,
  ensureCurrentPartitions,
  eventPartitions,
  withMaintenanceLock,
} from '../../src/central/event-partitions.js';
import { migrateCentral } from '../../src/central/migrations.js';
import { dig } from '../helpers/clients.js';
import { backendPid, centralQuery, eventually, useFleet, waitUntilWaitingForLock } from '../helpers/fleet.js';
import { postgresAvailable } from '../helpers/postgres-server.js';
import { startStack } from '../helpers/stack.js';

/** central_events_pYYYYMMDD of a UTC day. */
function partitionOf(day: number): string {
  return `central_events_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

interface PlacedEvent {
  part: string;
  qname: string;
}

describe.runIf(postgresAvailable())('central partitions at a member start', () => {
  const fleet = useFleet();
  let client: pg.Client;

  beforeEach(async () => {
    client = new pg.Client({ connectionString: fleet.server.url() });
    await client.connect();
    await migrateCentral(client);
  });
  afterEach(async () => {
    await client?.end();
  });

  /** The partition each event of `instance` is in. */
  async function placed(instance: string): Promise<PlacedEvent[]> {
    return centralQuery<PlacedEvent>(
      fleet.server,
      'SELECT tableoid::regclass::text AS part, qname FROM central_events WHERE instance = $1 ORDER BY time_ms',
      [instance],
    );
  }

  it("ships its first events into today's partition while another instance's pass holds the maintenance lock", async () => {
    const today = dayOf(Date.now());
    // A fleet whose partitions for today do not exist yet (the last pass ran days ago).
    for (let day = today - 1; day <= today + 2; day++) await client.query(`DROP TABLE IF EXISTS ${partitionOf(day)}`);
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let passHeld = false;
    const otherPass = withMaintenanceLock(client, async () => {
      passHeld = true;
      await released;
    });
    await eventually(async () => passHeld);
    try {
      const member = await fleet.startMember({ name: 'az-a' });
      expect((await dig(member.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
      await eventually(async () => (await placed('az-a')).length === 1);
      // Its own pass could not run: the partition came from its first contact.
      expect(await member.poolsink.fleet?.maintainNow()).toMatchObject({ ran: false });
      expect(await placed('az-a')).toEqual([{ part: partitionOf(dayOf(Date.now())), qname: 'pool.example' }]);
    } finally {
      release();
      await otherPass;
    }
  });

  it("creates today's partitions at first contact while another instance is creating the same day", async () => {
    const today = dayOf(Date.now());
    for (let day = today - 1; day <= today + 2; day++) await client.query(`DROP TABLE IF EXISTS ${partitionOf(day)}`);
    const other = new pg.Client({ connectionString: fleet.server.url() });
    await other.connect();
    try {
      // Another instance's pass, mid-creation of yesterday's partition (its lock held, not committed).
      await other.query('BEGIN');
      expect((await other.query('SELECT poolsink_event_partition($1) AS created', [today - 1])).rows).toEqual([
        { created: true },
      ]);
      const pid = await backendPid(client);
      // First contact saw no table for yesterday (not committed yet) and waits for that lock.
      const creating = ensureCurrentPartitions(client, Date.now());
      await waitUntilWaitingForLock(fleet.server.url(), pid);
      await other.query('COMMIT');
      // Yesterday was the other's to create; the three others are ours; no error.
      expect(await creating).toBe(3);
    } finally {
      await other.end();
    }
    const partitions = await eventPartitions(client);
    for (let day = today - 1; day <= today + 2; day++) expect(partitions).toContain(partitionOf(day));
  });

  it('moves a backlog of days without partitions into their days right after it ships, not at the next hourly pass', async () => {
    const today = dayOf(Date.now());
    for (const day of [today - 5, today - 3]) await client.query(`DROP TABLE IF EXISTS ${partitionOf(day)}`);
    const dir = mkdtempSync(join(tmpdir(), 'poolsink-backlog-'));
    try {
      // Days of blocking recorded locally while the fleet PostgreSQL was away (here: not configured).
      let nowMs = Date.now() - 5 * DAY_MS;
      const away = await startStack({ upstreams: [fleet.upstream.address], dir, clock: () => nowMs });
      try {
        expect((await dig(away.port, ['old.pool.example', 'A'])).status).toBe('NXDOMAIN');
        nowMs = Date.now() - 3 * DAY_MS;
        expect((await dig(away.port, ['older.minexmr.test', 'A'])).status).toBe('NXDOMAIN');
      } finally {
        await away.close();
      }
      const member = await fleet.startMember({ name: 'az-late', dir });
      expect((await dig(member.port, ['new.pool.example', 'A'])).status).toBe('NXDOMAIN');
      const expected = [
        { part: partitionOf(today - 5), qname: 'old.pool.example' },
        { part: partitionOf(today - 3), qname: 'older.minexmr.test' },
        { part: partitionOf(dayOf(Date.now())), qname: 'new.pool.example' },
      ];
      // No pass is called by the test (the one at the member start may run before the backlog ships).
      await eventually(async () => JSON.stringify(await placed('az-late')) === JSON.stringify(expected));
      expect(await centralQuery(fleet.server, 'SELECT 1 FROM central_events_default')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
