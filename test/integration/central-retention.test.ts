/**
 * Retention of the fleet tables that are not partitioned (central-pruning.ts, run by maintenance):
 * miner logins, hosts and resolved incidents past central.postgres.retentionDays go, in bounded
 * batches; recent rows and open or acknowledged incidents stay; retentionDays 0 keeps all. The
 * shipping cursor outlives the rows (central_key_spaces, migration 4): a member whose every central
 * row was pruned ships only its new events and logins, never its old log again. Real PostgreSQL.
 */
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/central/event-partitions.js';
import { fleetClientsIn, fleetMinerLogins } from '../../src/central/fleet-queries.js';
import { centralLocalId, splitCentralLocalId } from '../../src/central/key-space.js';
import { maintainCentral } from '../../src/central/maintenance.js';
import { migrateCentral } from '../../src/central/migrations.js';
import { dig } from '../helpers/clients.js';
import {
  backendPid,
  centralQuery,
  eventually,
  migrateCentralTo,
  startMember,
  useFleet,
  waitUntilWaitingForLock,
} from '../helpers/fleet.js';
import { postgresAvailable } from '../helpers/postgres-server.js';
import type { Stack } from '../helpers/stack.js';
import { STRATUM_LOGINS, connectStratum } from '../helpers/stratum-client.js';

const NOW_MS = Date.UTC(2026, 5, 15, 12, 0, 0);
const RETENTION_DAYS = 30;
const OLD_MS = NOW_MS - 40 * DAY_MS;
const RECENT_MS = NOW_MS - 2 * DAY_MS;

const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

async function insertLogin(
  client: pg.ClientBase,
  localId: number | string,
  timeMs: number,
  incidentId: number | null = null,
  instance = 'az-a',
): Promise<void> {
  await client.query(
    `INSERT INTO central_miner_logins (instance, local_id, time_ms, client_ip, client_port, port, tls, protocol, login,
  wallet, algorithms, incident_id) VALUES ($1, $2, $3, '10.0.0.9', 40000, 3333, false, 'monero', 'w', 'w', '[]', $4)`,
    [instance, localId, timeMs, incidentId],
  );
}

async function insertHost(client: pg.ClientBase, clientIp: string, lastSeenMs: number): Promise<void> {
  await client.query(
    `INSERT INTO central_hosts (client_ip, instance, first_seen_ms, last_seen_ms, blocked_count)
VALUES ($1, 'az-a', $2, $2, 1)`,
    [clientIp, lastSeenMs],
  );
}

async function insertIncident(
  client: pg.ClientBase,
  clientIp: string,
  state: 'open' | 'acknowledged' | 'resolved',
  lastSeenMs: number,
  resolvedMs: number | null = null,
): Promise<number> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO central_incidents (client_ip, state, opened_ms, last_seen_ms, attempts, instances, resolved_ms)
VALUES ($1, $2, $3, $3, 1, '{az-a}', $4) RETURNING id`,
    [clientIp, state, lastSeenMs, resolvedMs],
  );
  return Number(rows[0]?.id);
}

async function column<T>(client: pg.ClientBase, sql: string): Promise<T[]> {
  const { rows } = await client.query<{ v: T }>(sql);
  return rows.map((row) => row.v);
}

describe.runIf(postgresAvailable())('retention of central logins, hosts and incidents', () => {
  const fleet = useFleet();
  let client: pg.Client;
  let url = '';
  let database = 0;

  beforeEach(async () => {
    database += 1;
    await centralQuery(fleet.server, `CREATE DATABASE retention_${database}`);
    url = fleet.server.url().replace(/\/poolsink$/, `/retention_${database}`);
    client = new pg.Client({ connectionString: url });
    await client.connect();
    await migrateCentral(client);
  });
  afterEach(async () => {
    await client?.end();
  });

  async function seed(): Promise<{ keptIncidents: number[]; prunedIncident: number }> {
    // Seven old logins (more than a batch of 3) and two recent ones.
    for (let id = 1; id <= 7; id++) await insertLogin(client, id, OLD_MS + id);
    await insertLogin(client, 8, RECENT_MS);
    await insertLogin(client, 9, NOW_MS);
    for (let i = 1; i <= 5; i++) await insertHost(client, `10.0.1.${i}`, OLD_MS);
    await insertHost(client, '10.0.2.1', RECENT_MS);
    // Exactly at the cut stays (older than the cut goes).
    await insertHost(client, '10.0.2.2', NOW_MS - RETENTION_DAYS * DAY_MS);
    const prunedIncident = await insertIncident(client, '10.0.3.1', 'resolved', OLD_MS, OLD_MS + 1000);
    for (let i = 2; i <= 5; i++) await insertIncident(client, `10.0.3.${i}`, 'resolved', OLD_MS, OLD_MS);
    const keptIncidents = [
      await insertIncident(client, '10.0.4.1', 'open', OLD_MS),
      await insertIncident(client, '10.0.4.2', 'acknowledged', OLD_MS),
      // Last seen long ago, but resolved within retention: its last activity is recent.
      await insertIncident(client, '10.0.4.3', 'resolved', OLD_MS, RECENT_MS),
      await insertIncident(client, '10.0.4.4', 'resolved', RECENT_MS, RECENT_MS),
    ];
    // A login naming the old resolved incident, though its own time is recent (a clock far off).
    await insertLogin(client, 10, NOW_MS, prunedIncident);
    return { keptIncidents, prunedIncident };
  }

  it('prunes old logins, hosts and resolved incidents in bounded batches; keeps recent, open and acknowledged ones', async () => {
    const { keptIncidents } = await seed();
    const result = await maintainCentral(client, NOW_MS, RETENTION_DAYS, 3);
    expect(result).toMatchObject({ ran: true, pruned: { logins: 8, hosts: 5, incidents: 5 } });
    expect(await column<string>(client, 'SELECT local_id AS v FROM central_miner_logins ORDER BY local_id')).toEqual([
      '8',
      '9',
    ]);
    expect(await column<string>(client, 'SELECT client_ip AS v FROM central_hosts ORDER BY client_ip')).toEqual([
      '10.0.2.1',
      '10.0.2.2',
    ]);
    expect(await column<string>(client, 'SELECT id AS v FROM central_incidents ORDER BY id')).toEqual(
      keptIncidents.map(String),
    );
    // A second pass finds nothing left.
    expect((await maintainCentral(client, NOW_MS, RETENTION_DAYS, 3)).pruned).toEqual({
      logins: 0,
      hosts: 0,
      incidents: 0,
    });
  });

  it('keeps every row with retentionDays 0, and skips while another instance holds the lock', async () => {
    await seed();
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('BEGIN');
      // Another instance's pass holds the lock: this one does nothing.
      await other.query('SELECT pg_advisory_lock($1)', [0x7073696e6b + 1]);
      expect(await maintainCentral(client, NOW_MS, RETENTION_DAYS)).toMatchObject({
        ran: false,
        pruned: { logins: 0, hosts: 0, incidents: 0 },
      });
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }
    const result = await maintainCentral(client, NOW_MS, 0);
    expect(result).toMatchObject({ ran: true, pruned: { logins: 0, hosts: 0, incidents: 0 } });
    expect(await column<string>(client, 'SELECT count(*) AS v FROM central_miner_logins')).toEqual(['10']);
    expect(await column<string>(client, 'SELECT count(*) AS v FROM central_hosts')).toEqual(['7']);
    expect(await column<string>(client, 'SELECT count(*) AS v FROM central_incidents')).toEqual(['9']);
  });

  it('reads a client CIDR through client_inet, whatever text a client address holds', async () => {
    // An empty address (a socket gone) and one with a zone are stored; neither fails the insert.
    for (const ip of ['10.7.0.1', '10.7.9.9', '10.8.0.1', 'fe80::1%eth0', '', 'not-an-address']) {
      await insertHost(client, ip, NOW_MS);
    }
    await insertLogin(client, 1, NOW_MS);
    const inside = await fleetClientsIn(client, '10.7.0.0/16', 10);
    expect(inside.kind === 'clients' ? [...inside.clients].sort() : inside).toEqual(['10.7.0.1', '10.7.9.9']);
    expect(await fleetClientsIn(client, 'fe80::/10', 10)).toEqual({ kind: 'clients', clients: ['fe80::1%eth0'] });
    expect(await fleetClientsIn(client, '10.0.0.0/8', 2)).toEqual({ kind: 'too-many', max: 2 });
    const logins = await fleetMinerLogins(client, { network: '10.0.0.0/24' }, 10);
    expect(logins.logins.map((l) => l.clientIp)).toEqual(['10.0.0.9']);
    expect((await fleetMinerLogins(client, { network: '10.0.1.0/24' }, 10)).logins).toEqual([]);
    // The filters use the GiST indexes (a tiny table: only with sequential scans off is the plan telling).
    await client.query('SET enable_seqscan = off');
    const { rows: plan } = await client.query<{ 'QUERY PLAN': string }>(
      "EXPLAIN SELECT client_ip FROM central_hosts WHERE client_inet <<= '10.7.0.0/16'",
    );
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toMatch(/central_hosts_client_inet/);
  });

  it('creates a day partition while a shipping batch that read the events inserts one of that day', async () => {
    const day = Math.floor(NOW_MS / DAY_MS) - 3;
    const shipping = new pg.Client({ connectionString: url });
    await shipping.connect();
    try {
      // As a batch does: it reads its cursor (every partition, the default one too) first.
      await shipping.query('BEGIN');
      await shipping.query("SELECT max(local_id) FROM central_events WHERE instance = 'az-a'");
      const pid = await backendPid(client);
      const creating = client.query('SELECT poolsink_event_partition($1) AS created', [day]);
      await waitUntilWaitingForLock(url, pid);
      // Then inserts an event of that day (into the default partition): no deadlock, both finish.
      await shipping.query(
        `INSERT INTO central_events (instance, local_id, time_ms, client_ip, client_port, protocol, qname, rname, qtype,
  list, rule, action, answer) VALUES ('az-a', 1, $1, '10.0.0.1', 1, 'udp', 'a', 'a', 1, 'l', 'r', 'blocked', 'nxdomain')`,
        [day * DAY_MS + 5],
      );
      await shipping.query('COMMIT');
      expect((await creating).rows).toEqual([{ created: true }]);
    } finally {
      await shipping.end();
    }
    const { rows } = await client.query<{ part: string }>(
      'SELECT tableoid::regclass::text AS part FROM central_events',
    );
    expect(rows).toEqual([{ part: expect.stringMatching(/^central_events_p\d{8}$/) }]);
  });

  it('migration 4 keeps the cursors shipped so far, per instance and key space', async () => {
    await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    await migrateCentralTo(client, 3);
    for (const name of ['az-a', 'az-b', 'az-c']) {
      await client.query('INSERT INTO central_instances (name, seen_ms) VALUES ($1, 0)', [name]);
    }
    const insertEvent = (instance: string, localId: string): Promise<unknown> =>
      client.query(
        `INSERT INTO central_events (instance, local_id, time_ms, client_ip, client_port, protocol, qname, rname, qtype,
  list, rule, action, answer) VALUES ($1, $2, $3, '10.0.0.1', 1, 'udp', 'a', 'a', 1, 'l', 'r', 'blocked', 'nxdomain')`,
        [instance, localId, NOW_MS],
      );
    // az-a: key space 0 up to 7 and key space 2 up to 4 (events), key space 1 up to 3 (logins only).
    for (const [epoch, id] of [
      [0, 5],
      [0, 7],
      [2, 4],
    ] as const) {
      await insertEvent('az-a', centralLocalId(epoch, id));
    }
    await insertLogin(client, centralLocalId(1, 3), NOW_MS);
    await insertLogin(client, centralLocalId(2, 9), NOW_MS);
    await insertEvent('az-b', centralLocalId(0, 11));
    // Hosts from before get client_inet too (a zone dropped, text that is no address null).
    for (const ip of ['10.1.2.3', 'fe80::1%eth0', '']) {
      await client.query(
        "INSERT INTO central_hosts (client_ip, instance, first_seen_ms, last_seen_ms, blocked_count) VALUES ($1, 'az-a', 0, 0, 1)",
        [ip],
      );
    }

    await migrateCentral(client);
    expect(
      (
        await client.query<{ client_ip: string; client_inet: string | null }>(
          'SELECT client_ip, client_inet FROM central_hosts ORDER BY client_ip',
        )
      ).rows,
    ).toEqual([
      { client_ip: '', client_inet: null },
      { client_ip: '10.1.2.3', client_inet: '10.1.2.3' },
      { client_ip: 'fe80::1%eth0', client_inet: 'fe80::1' },
    ]);
    const { rows } = await client.query(
      'SELECT instance, epoch, last_event_id, last_login_id FROM central_key_spaces ORDER BY instance, epoch',
    );
    expect(rows).toEqual([
      { instance: 'az-a', epoch: 0, last_event_id: '7', last_login_id: '0' },
      { instance: 'az-a', epoch: 1, last_event_id: '0', last_login_id: '3' },
      { instance: 'az-a', epoch: 2, last_event_id: '4', last_login_id: '9' },
      { instance: 'az-b', epoch: 0, last_event_id: '11', last_login_id: '0' },
    ]);
  });
});

describe.runIf(postgresAvailable())('a member whose central rows were all pruned', () => {
  const fleet = useFleet();

  function honeypotPort(stack: Stack): number {
    const port = stack.poolsink.honeypot?.plain[0]?.port;
    if (port === undefined) throw new Error('honeypot not started');
    return port;
  }

  async function centralIds(table: 'central_events' | 'central_miner_logins'): Promise<string[]> {
    const rows = await centralQuery<{ local_id: string }>(
      fleet.server,
      `SELECT local_id FROM ${table} WHERE instance = 'az-a' ORDER BY local_id`,
    );
    return rows.map((row) => JSON.stringify(splitCentralLocalId(row.local_id)));
  }

  it('ships only what is new after retention emptied its key space: nothing old again', async () => {
    const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const member = fleet.closeAfterTest(
      await startMember(fleet.server, {
        name: 'az-a',
        upstream: fleet.upstream.address,
        postgres: { retentionDays: RETENTION_DAYS },
        config: { block: { response: 'sinkhole', sinkholeIpv4: '127.0.0.1' }, honeypot: { listen: ['127.0.0.1:0'] } },
        log,
      }),
    );
    const blockAndLogin = async (clientIp: string, qname: string): Promise<void> => {
      expect((await dig(member.port, ['-b', clientIp, qname, 'A'])).status).toBe('NOERROR');
      await STRATUM_LOGINS.monero(await connectStratum(honeypotPort(member), { localAddress: clientIp }), `${XMR}.r`);
    };
    await blockAndLogin('127.0.0.2', 'old.pool.example');
    await eventually(async () => {
      await member.poolsink.fleet?.shipNow();
      return (
        (await centralIds('central_events')).length === 1 && (await centralIds('central_miner_logins')).length === 1
      );
    });
    // Everything of az-a becomes older than retention; its incident is resolved long ago.
    const longAgo = -(RETENTION_DAYS + 10) * DAY_MS;
    await centralQuery(fleet.server, 'UPDATE central_events SET time_ms = time_ms + $1', [longAgo]);
    await centralQuery(fleet.server, 'UPDATE central_miner_logins SET time_ms = time_ms + $1', [longAgo]);
    await centralQuery(fleet.server, 'UPDATE central_hosts SET last_seen_ms = last_seen_ms + $1', [longAgo]);
    await centralQuery(
      fleet.server,
      "UPDATE central_incidents SET state = 'resolved', last_seen_ms = last_seen_ms + $1, resolved_ms = last_seen_ms + $1",
      [longAgo],
    );
    const result = await member.poolsink.fleet?.maintainNow();
    expect(result).toMatchObject({ ran: true, deleted: 1, pruned: { logins: 1, hosts: 1, incidents: 1 } });
    // One info line for the pass (the pass at start, which created partitions, logged its own).
    expect(lines.filter((l) => /^central maintenance/.test(l.msg)).at(-1)).toMatchObject({
      level: 30,
      deleted: 1,
      pruned: { logins: 1, hosts: 1, incidents: 1 },
    });
    expect(await centralIds('central_events')).toEqual([]);
    expect(await centralIds('central_miner_logins')).toEqual([]);

    // Shipping again sends nothing old; what is new arrives, in the same key space, after the old ids.
    await member.poolsink.fleet?.shipNow();
    expect(await centralIds('central_events')).toEqual([]);
    expect(await centralIds('central_miner_logins')).toEqual([]);
    await blockAndLogin('127.0.0.3', 'new.pool.example');
    await eventually(async () => {
      await member.poolsink.fleet?.shipNow();
      return (await centralIds('central_events')).length > 0 && (await centralIds('central_miner_logins')).length > 0;
    });
    await member.poolsink.fleet?.shipNow();
    expect(await centralIds('central_events')).toEqual([JSON.stringify({ epoch: 0, localId: 2 })]);
    expect(await centralIds('central_miner_logins')).toEqual([JSON.stringify({ epoch: 0, localId: 2 })]);
    expect(lines.filter((l) => l.level >= 40 && /database/.test(l.msg))).toEqual([]);
  });
});
