/**
 * A replaced local database (issue 15): the operator swaps the SQLite file for a fresh one (a new
 * volume) or restores an older backup. Its ids start again below what the fleet PostgreSQL holds of
 * the instance; it must still ship every new event, once, without touching the old rows, and say so
 * in a warning.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitCentralLocalId } from '../../src/central/key-space.js';
import { dig } from '../helpers/clients.js';
import { centralQuery, eventually, startMember, useFleet } from '../helpers/fleet.js';
import { postgresAvailable, type PostgresServer } from '../helpers/postgres-server.js';
import type { Stack } from '../helpers/stack.js';

interface CentralRow {
  local_id: string;
  qname: string;
  client_ip: string;
}

async function centralRows(server: PostgresServer): Promise<CentralRow[]> {
  return centralQuery<CentralRow>(
    server,
    "SELECT local_id, qname, client_ip FROM central_events WHERE instance = 'az-a' ORDER BY local_id",
  );
}

const SQLITE_FILES = ['poolsink.db', 'poolsink.db-wal', 'poolsink.db-shm'];

function removeDatabase(dir: string): void {
  for (const file of SQLITE_FILES) rmSync(join(dir, 'data', file), { force: true });
}

function copyDatabase(fromDir: string, toDir: string): void {
  for (const file of SQLITE_FILES) {
    if (existsSync(join(fromDir, file))) copyFileSync(join(fromDir, file), join(toDir, file));
  }
}

describe.runIf(postgresAvailable())('a replaced local database', () => {
  const fleet = useFleet();
  let dir: string;
  let backup: string;
  let stack: Stack | undefined;
  let warnings: { msg: string; [key: string]: unknown }[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'poolsink-dbident-'));
    backup = mkdtempSync(join(tmpdir(), 'poolsink-dbident-backup-'));
    warnings = [];
  });
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
    rmSync(dir, { recursive: true, force: true });
    rmSync(backup, { recursive: true, force: true });
  });

  async function start(): Promise<Stack> {
    const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    stack = await startMember(fleet.server, { name: 'az-a', upstream: fleet.upstream.address, dir, log });
    // First contact, so the schema exists before the test reads it (a migration at first use).
    await stack.poolsink.fleet?.shipNow();
    return stack;
  }

  async function stop(): Promise<void> {
    await stack?.close();
    stack = undefined;
  }

  /** Blocks `qname` from client `clientIp` and waits until PostgreSQL has `expected` rows of az-a. */
  async function blockAndShip(member: Stack, clientIp: string, qname: string, expected: number): Promise<void> {
    expect((await dig(member.port, ['-b', clientIp, qname, 'A'])).status).toBe('NXDOMAIN');
    await eventually(async () => (await centralRows(fleet.server)).length === expected);
  }

  it('ships the new events of a fresh SQLite file that replaced the old one, keeping the old rows', async () => {
    let member = await start();
    await blockAndShip(member, '127.0.0.2', 'before.pool.example', 1);
    await blockAndShip(member, '127.0.0.3', 'before.pool.example', 2);
    const before = await centralRows(fleet.server);
    expect(warnings.filter((w) => /another local database/.test(w.msg))).toEqual([]);
    await stop();

    removeDatabase(dir); // a new volume: the next start creates an empty database, ids from 1 again
    member = await start();
    await blockAndShip(member, '127.0.0.4', 'after.pool.example', 3);
    await blockAndShip(member, '127.0.0.5', 'after.pool.example', 4);

    const rows = await centralRows(fleet.server);
    expect(rows.slice(0, 2)).toEqual(before);
    expect(rows.map((r) => `${r.client_ip} ${r.qname}`)).toEqual([
      '127.0.0.2 before.pool.example',
      '127.0.0.3 before.pool.example',
      '127.0.0.4 after.pool.example',
      '127.0.0.5 after.pool.example',
    ]);
    // Local ids 1 and 2 twice, in two key spaces: the old database's and the new one's.
    expect(rows.map((r) => splitCentralLocalId(r.local_id))).toEqual([
      { epoch: 0, localId: 1 },
      { epoch: 0, localId: 2 },
      { epoch: 1, localId: 1 },
      { epoch: 1, localId: 2 },
    ]);
    expect(warnings.filter((w) => /another local database/.test(w.msg))).toEqual([
      expect.objectContaining({ instance: 'az-a', epoch: 1, databaseId: expect.stringMatching(/^[0-9a-f]{32}$/) }),
    ]);

    // Shipping again, even from a cursor forgotten centrally, duplicates nothing.
    await centralQuery(fleet.server, "UPDATE central_instances SET last_local_id = 0 WHERE name = 'az-a'");
    await member.poolsink.fleet?.shipNow();
    expect(await centralRows(fleet.server)).toEqual(rows);
    await stop();
    member = await start();
    await member.poolsink.fleet?.shipNow();
    expect(await centralRows(fleet.server)).toEqual(rows);
    expect(warnings.filter((w) => /another local database/.test(w.msg))).toHaveLength(1);
  });

  it('ships again, under keys of its own, a restored backup older than what PostgreSQL holds', async () => {
    let member = await start();
    await blockAndShip(member, '127.0.0.2', 'first.pool.example', 1);
    await stop();
    copyDatabase(join(dir, 'data'), backup);
    member = await start();
    await blockAndShip(member, '127.0.0.3', 'second.pool.example', 2);
    await blockAndShip(member, '127.0.0.4', 'third.pool.example', 3);
    await stop();

    removeDatabase(dir);
    copyDatabase(backup, join(dir, 'data')); // the backup holds local id 1 only; PostgreSQL has 1..3
    member = await start();
    await eventually(async () => (await centralRows(fleet.server)).length === 4);
    await blockAndShip(member, '127.0.0.5', 'after-restore.pool.example', 5);

    const rows = await centralRows(fleet.server);
    expect(rows.map((r) => `${JSON.stringify(splitCentralLocalId(r.local_id))} ${r.qname}`)).toEqual([
      '{"epoch":0,"localId":1} first.pool.example',
      '{"epoch":0,"localId":2} second.pool.example',
      '{"epoch":0,"localId":3} third.pool.example',
      // The restored copy ships all it has again (nothing lost; its first event twice, in two key spaces).
      '{"epoch":1,"localId":1} first.pool.example',
      '{"epoch":1,"localId":2} after-restore.pool.example',
    ]);
    const restored = warnings.filter((w) => /restored from an older copy/.test(w.msg));
    expect(restored).toEqual([
      expect.objectContaining({ instance: 'az-a', centralCursor: 3, localMaxId: 1, epoch: 1 }),
    ]);
    expect(restored[0]?.['databaseId']).not.toBe(restored[0]?.['previousDatabaseId']);
    await member.poolsink.fleet?.shipNow();
    expect(await centralRows(fleet.server)).toEqual(rows);
  });
});
