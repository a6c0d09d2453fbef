/**
 * central_events partitioned by day (central migration 3): a version-2 database with events
 * migrates and keeps them; shipping stays idempotent; maintenance creates the days ahead, moves
 * events out of the default partition and drops whole days past retention; the domain-with-
 * subdomains read pages by cursor exactly as an offset would. Real PostgreSQL, one database per test.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CENTRAL_EVENT_INSERT, toCentralColumns, type LocalEventRow } from '../../src/central/event-columns.js';
import {
  DAY_MS,
  dayOf,
  ensureEventPartitions,
  eventPartitions,
  maintainEventPartitions,
  partitionDay,
} from '../../src/central/event-partitions.js';
import { fleetEvents, type FleetCursor, type FleetEvent } from '../../src/central/fleet-queries.js';
import { latestCentralVersion, migrateCentral } from '../../src/central/migrations.js';
import { reverseName } from '../../src/store/reversed-names.js';
import { dig } from '../helpers/clients.js';
import {
  backendPid,
  centralQuery,
  eventually,
  migrateCentralTo,
  startMember,
  waitUntilWaitingForLock,
} from '../helpers/fleet.js';
import { startLocalUpstream } from '../helpers/local-upstream.js';
import { postgresAvailable, startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

const NOW_MS = Date.UTC(2026, 5, 15, 12, 0, 0);

function localEvent(id: number, timeMs: number, qname = 'pool.example', clientIp = '10.0.0.1'): LocalEventRow {
  return {
    id,
    time_ms: timeMs,
    client_ip: clientIp,
    client_port: 40000,
    protocol: 'udp',
    qname,
    rname: reverseName(qname),
    qtype: 1,
    list: 'miners',
    rule: 'pool.example',
    action: 'blocked',
    answer: 'nxdomain',
    via: null,
    count: 1,
    last_ms: null,
    identity_json: null,
  };
}

/** Ships rows as the shipper does; the number inserted. */
async function ship(client: pg.ClientBase, instance: string, rows: readonly LocalEventRow[]): Promise<number> {
  const result = await client.query(CENTRAL_EVENT_INSERT, toCentralColumns(instance, rows, 0));
  return result.rowCount ?? 0;
}

/** Every page of a read by cursor. */
async function allPages(
  client: pg.ClientBase,
  filter: Parameters<typeof fleetEvents>[1],
  limit: number,
  nowMs = NOW_MS,
): Promise<FleetEvent[][]> {
  const pages: FleetEvent[][] = [];
  let cursor: FleetCursor | undefined;
  for (;;) {
    const page = await fleetEvents(client, filter, limit, cursor, nowMs);
    pages.push(page.events);
    if (page.nextCursor === undefined) return pages;
    cursor = page.nextCursor;
  }
}

describe.runIf(postgresAvailable())('central events partitioned by day', () => {
  let server: PostgresServer;
  let client: pg.Client;
  let url = '';
  let database = 0;

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    database += 1;
    await centralQuery(server, `CREATE DATABASE partitions_${database}`);
    url = server.url().replace(/\/poolsink$/, `/partitions_${database}`);
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  afterEach(async () => {
    await client?.end();
  });

  it('migrates a version-2 database with events: every row readable, ids go on, shipping stays idempotent', async () => {
    await migrateCentralTo(client, 2);
    const days = [NOW_MS - 3 * DAY_MS, NOW_MS - DAY_MS, NOW_MS];
    const before = days.flatMap((timeMs, d) =>
      Array.from({ length: 20 }, (_, i) => localEvent(d * 100 + i + 1, timeMs + i, `w${i % 3}.pool.example`)),
    );
    // Version 2's conflict target, as the poolsink of that version shipped.
    const v2Insert = CENTRAL_EVENT_INSERT.replace('(instance, local_id, time_ms)', '(instance, local_id)');
    expect((await client.query(v2Insert, toCentralColumns('az-a', before, 0))).rowCount).toBe(60);
    const { rows: v2Rows } = await client.query<{ id: string; local_id: string }>(
      'SELECT id, local_id FROM central_events ORDER BY id',
    );

    expect(await migrateCentral(client)).toBe(latestCentralVersion());

    const { rows: v3Rows } = await client.query<{ id: string; local_id: string }>(
      'SELECT id, local_id FROM central_events ORDER BY id',
    );
    expect(v3Rows).toEqual(v2Rows);
    const partitions = await eventPartitions(client);
    expect(partitions).toEqual(
      expect.arrayContaining(['central_events_default', 'central_events_p20260612', 'central_events_p20260614']),
    );
    expect(partitions).toContain('central_events_p20260615');
    const { rows: inDefault } = await client.query('SELECT 1 FROM central_events_default');
    expect(inDefault).toHaveLength(0);
    // The API reads them all, newest first.
    const read = await fleetEvents(client, { domain: 'pool.example' }, 100);
    expect(read.events).toHaveLength(60);
    expect(read.events[0]?.timeMs).toBe(NOW_MS + 19);
    // A retry of the same batch inserts nothing; a new event gets the next id.
    expect(await ship(client, 'az-a', before)).toBe(0);
    expect(await ship(client, 'az-a', [localEvent(1000, NOW_MS + 100)])).toBe(1);
    const maxBefore = Math.max(...v2Rows.map((row) => Number(row.id)));
    const [newest] = (await fleetEvents(client, {}, 1)).events;
    expect(newest?.localId).toBe(1000);
    expect(newest?.id).toBeGreaterThan(maxBefore);
    const { rows: counts } = await client.query<{ n: string }>('SELECT count(*) AS n FROM central_events');
    expect(Number(counts[0]?.n)).toBe(61);
  });

  it('ships an event of a day without its partition into the default one, and maintenance moves it', async () => {
    await migrateCentral(client);
    const old = NOW_MS - 5 * DAY_MS;
    expect(await ship(client, 'az-a', [localEvent(1, old), localEvent(2, NOW_MS)])).toBe(2);
    expect((await client.query('SELECT local_id FROM central_events_default ORDER BY local_id')).rows).toEqual([
      { local_id: '1' },
      { local_id: '2' },
    ]);
    const result = await maintainEventPartitions(client, NOW_MS, 30);
    expect(result).toMatchObject({ ran: true, dropped: 0, deleted: 0 });
    // Yesterday to 2 days ahead, and the day the old event waited for.
    expect(result.created).toBe(5);
    expect((await client.query('SELECT 1 FROM central_events_default')).rows).toHaveLength(0);
    expect((await client.query('SELECT local_id FROM central_events_p20260610')).rows).toEqual([{ local_id: '1' }]);
    expect((await client.query('SELECT local_id FROM central_events_p20260615')).rows).toEqual([{ local_id: '2' }]);
    // Still one row each, and a retry still inserts nothing.
    expect(await ship(client, 'az-a', [localEvent(1, old), localEvent(2, NOW_MS)])).toBe(0);
    expect((await fleetEvents(client, {}, 10)).events.map((e) => e.localId)).toEqual([2, 1]);
    // A second pass has nothing to do.
    expect(await maintainEventPartitions(client, NOW_MS, 30)).toEqual({
      ran: true,
      created: 0,
      dropped: 0,
      deleted: 0,
    });
  });

  it('drops whole days past retention, deletes expired rows of the default partition, keeps the rest', async () => {
    await migrateCentral(client);
    const today = dayOf(NOW_MS);
    await ensureEventPartitions(client, today - 12, today);
    const times = [NOW_MS - 12 * DAY_MS, NOW_MS - 8 * DAY_MS, NOW_MS - 7 * DAY_MS + 1000, NOW_MS - 3 * DAY_MS, NOW_MS];
    expect(
      await ship(
        client,
        'az-a',
        times.map((t, i) => localEvent(i + 1, t)),
      ),
    ).toBe(5);
    // An old event in the default partition (its day has no partition).
    expect(await ship(client, 'az-b', [localEvent(1, NOW_MS - 14 * DAY_MS)])).toBe(1);

    const result = await maintainEventPartitions(client, NOW_MS, 7);
    expect(result).toMatchObject({ ran: true, deleted: 1 });
    const days = (await eventPartitions(client)).map(partitionDay).filter((d) => d !== undefined);
    // Day today-8 ends before the cut (now - 7 days) and goes; day today-7 holds the cut and stays.
    expect(Math.min(...days)).toBe(today - 7);
    expect(Math.max(...days)).toBe(today + 2);
    const left = (await fleetEvents(client, {}, 100)).events.map((e) => [e.instance, e.localId]);
    expect(left).toEqual([
      ['az-a', 5],
      ['az-a', 4],
      ['az-a', 3],
    ]);
  });

  it('creates a day partition while an event of that day is being shipped into the default one', async () => {
    await migrateCentral(client);
    const day = dayOf(NOW_MS) - 9;
    const shipping = new pg.Client({ connectionString: url });
    await shipping.connect();
    try {
      await shipping.query('BEGIN');
      expect(await ship(shipping, 'az-a', [localEvent(1, day * DAY_MS + 5)])).toBe(1);
      const pid = await backendPid(client);
      const creating = ensureEventPartitions(client, day, day);
      // The creation waits for the shipping transaction (a lock), which then commits.
      await waitUntilWaitingForLock(url, pid);
      await shipping.query('COMMIT');
      expect(await creating).toBe(1);
    } finally {
      await shipping.end();
    }
    const { rows: where } = await client.query<{ part: string }>(
      'SELECT tableoid::regclass::text AS part FROM central_events',
    );
    expect(where).toEqual([
      { part: `central_events_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}` },
    ]);
  });

  it('keeps everything with retentionDays 0; passes of several instances at once do the work once', async () => {
    await migrateCentral(client);
    await ensureEventPartitions(client, dayOf(NOW_MS) - 400, dayOf(NOW_MS) - 400);
    expect(await ship(client, 'az-a', [localEvent(1, NOW_MS - 400 * DAY_MS)])).toBe(1);
    const others = Array.from({ length: 3 }, () => new pg.Client({ connectionString: url }));
    await Promise.all(others.map((other) => other.connect()));
    try {
      const results = await Promise.all([client, ...others].map((c) => maintainEventPartitions(c, NOW_MS, 0)));
      expect(results.filter((r) => r.ran).length).toBeGreaterThanOrEqual(1);
      // Yesterday to two days ahead, created once whoever ran.
      expect(results.reduce((sum, r) => sum + r.created, 0)).toBe(4);
    } finally {
      await Promise.all(others.map((other) => other.end()));
    }
    expect((await fleetEvents(client, {}, 10)).events.map((e) => e.localId)).toEqual([1]);
  });

  it('reads a domain with its subdomains newest first, and pages by cursor exactly as by offset', async () => {
    await migrateCentral(client);
    await ensureEventPartitions(client, dayOf(NOW_MS) - 3, dayOf(NOW_MS));
    const names = ['pool.example', 'a.pool.example', 'x.y.pool.example', 'notpool.example', 'pool.example.org'];
    const rows: LocalEventRow[] = [];
    for (let i = 0; i < 300; i++) {
      // Ties in time (3 events per ms), across four days, on names that match and names that must not.
      const timeMs = NOW_MS - Math.floor(i / 3) * 3_600_000 - (i % 2);
      rows.push(localEvent(i + 1, timeMs, names[i % names.length], `10.0.0.${i % 7}`));
    }
    // Half the events from a second instance, some in the default partition (a day without partition).
    expect(await ship(client, 'az-a', rows.slice(0, 150))).toBe(150);
    expect(await ship(client, 'az-b', rows.slice(150))).toBe(150);
    expect(await ship(client, 'az-b', [localEvent(999, NOW_MS - 6 * DAY_MS, 'deep.a.pool.example')])).toBe(1);

    const { rows: expected } = await client.query<{ id: string }>(
      `SELECT id FROM central_events WHERE qname = 'pool.example' OR qname LIKE '%.pool.example'
ORDER BY time_ms DESC, id DESC`,
    );
    expect(expected).toHaveLength(181);
    // The read goes by time windows from "now" back: any now gives the same pages (one inside the
    // events, one before them all, one long after).
    for (const nowMs of [NOW_MS, NOW_MS - 30 * 60_000, NOW_MS - 10 * DAY_MS, NOW_MS + 400 * DAY_MS]) {
      for (const limit of [1, 7, 50, 181, 500]) {
        const pages = await allPages(client, { domain: 'Pool.Example.' }, limit, nowMs);
        expect(pages.flat().map((e) => e.id)).toEqual(expected.map((r) => Number(r.id)));
        expect(pages.slice(0, -1).every((page) => page.length === limit)).toBe(true);
      }
    }
    // With other filters too: the same rows as the filter applied to the whole list.
    const { rows: expectedClient } = await client.query<{ id: string }>(
      `SELECT id FROM central_events WHERE (qname = 'pool.example' OR qname LIKE '%.pool.example')
  AND client_ip = '10.0.0.3' AND instance = 'az-a' AND time_ms >= $1 ORDER BY time_ms DESC, id DESC`,
      [NOW_MS - 2 * DAY_MS],
    );
    expect(expectedClient.length).toBeGreaterThan(5);
    const filtered = await allPages(
      client,
      { domain: 'pool.example', client: '10.0.0.3', instance: 'az-a', sinceMs: NOW_MS - 2 * DAY_MS },
      4,
    );
    expect(filtered.flat().map((e) => e.id)).toEqual(expectedClient.map((r) => Number(r.id)));
    // A subdomain alone: itself and below, not its parent.
    const sub = await allPages(client, { domain: 'a.pool.example' }, 5);
    expect(new Set(sub.flat().map((e) => e.qname))).toEqual(new Set(['a.pool.example', 'deep.a.pool.example']));
  });
  it('reads without a domain by time windows: the pages of one sorted read, the default partition pruned in covered days', async () => {
    await migrateCentral(client);
    await ensureEventPartitions(client, dayOf(NOW_MS) - 3, dayOf(NOW_MS));
    const rows: LocalEventRow[] = [];
    for (let i = 0; i < 200; i++) {
      // Over four days, two events per time (ties broken by id).
      rows.push(localEvent(i + 1, NOW_MS - Math.floor(i / 2) * 1_800_000, 'pool.example', `10.0.0.${i % 7}`));
    }
    expect(await ship(client, 'az-a', rows.slice(0, 100))).toBe(100);
    expect(await ship(client, 'az-b', rows.slice(100))).toBe(100);
    // Days without partition (the default one): an old event and one from a clock far ahead.
    const odd = [
      localEvent(900, NOW_MS - 6 * DAY_MS),
      localEvent(901, NOW_MS + 5 * DAY_MS, 'pool.example', '10.0.0.3'),
    ];
    expect(await ship(client, 'az-b', odd)).toBe(2);
    const filters: [Parameters<typeof fleetEvents>[1], string][] = [
      [{}, 'true'],
      [{ instance: 'az-b' }, "instance = 'az-b'"],
      [{ client: '10.0.0.3' }, "client_ip = '10.0.0.3'"],
      [{ sinceMs: NOW_MS - 2 * DAY_MS }, `time_ms >= ${NOW_MS - 2 * DAY_MS}`],
      [{ untilMs: NOW_MS - DAY_MS }, `time_ms < ${NOW_MS - DAY_MS}`],
    ];
    for (const [filter, sql] of filters) {
      const { rows: expected } = await client.query<{ id: string }>(
        `SELECT id FROM central_events WHERE ${sql} ORDER BY time_ms DESC, id DESC`,
      );
      expect(expected.length).toBeGreaterThan(10);
      for (const nowMs of [NOW_MS, NOW_MS - 10 * DAY_MS, NOW_MS + 400 * DAY_MS]) {
        for (const limit of [3, 64, 500]) {
          const pages = await allPages(client, filter, limit, nowMs);
          expect(pages.flat().map((e) => e.id)).toEqual(expected.map((r) => Number(r.id)));
        }
      }
    }
    // The next page from a day with its partition reads that day's partition alone.
    const query = vi.spyOn(client, 'query');
    try {
      await fleetEvents(client, {}, 10, { timeMs: NOW_MS - DAY_MS, id: Number.MAX_SAFE_INTEGER }, NOW_MS);
      const [sql, params] = query.mock.calls[0] ?? [];
      query.mockRestore();
      const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${String(sql)}`, [
        ...(Array.isArray(params) ? params : []),
      ]);
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(text).toContain('central_events_p20260614');
      expect(text).not.toContain('central_events_default');
      expect(text).not.toContain('central_events_p20260613');
    } finally {
      query.mockRestore();
    }
  });
  it('a fleet member maintains the partitions itself: today and ahead created, days past retentionDays dropped', async () => {
    // The member uses the server's own database; an old day with an event waits there.
    const fleetDb = new pg.Client({ connectionString: server.url() });
    await fleetDb.connect();
    const upstream = await startLocalUpstream();
    try {
      await migrateCentral(fleetDb);
      const today = dayOf(Date.now());
      await ensureEventPartitions(fleetDb, today - 5, today - 5);
      expect(await ship(fleetDb, 'az-old', [localEvent(1, (today - 5) * DAY_MS + 1000)])).toBe(1);
      const member = await startMember(server, {
        name: 'az-a',
        upstream: upstream.address,
        postgres: { retentionDays: 2 },
      });
      try {
        const partitionDays = async (): Promise<number[]> =>
          (await eventPartitions(fleetDb)).map(partitionDay).filter((day) => day !== undefined);
        await eventually(async () => {
          const days = await partitionDays();
          return !days.includes(today - 5) && days.includes(today + 2);
        });
        expect(Math.min(...(await partitionDays()))).toBe(today - 1);
        // What it blocks now ships into its day's partition, not the default one.
        expect((await dig(member.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
        const partitionsOf = async (): Promise<string[]> =>
          (
            await fleetDb.query<{ part: string }>(
              "SELECT tableoid::regclass::text AS part FROM central_events WHERE instance = 'az-a'",
            )
          ).rows.map((row) => row.part);
        await eventually(async () => (await partitionsOf()).length === 1);
        expect(await partitionsOf()).toEqual([expect.stringMatching(/^central_events_p\d{8}$/)]);
        expect((await fleetDb.query('SELECT 1 FROM central_events WHERE instance = $1', ['az-old'])).rows).toEqual([]);
      } finally {
        await member.close();
      }
    } finally {
      await upstream.close();
      await fleetDb.end();
    }
  });
});
