/**
 * Fleet tests: poolsink stacks that are members of one fleet PostgreSQL (postgres-server.ts), and
 * direct reads of that database to check what arrived.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest';
import { CENTRAL_MIGRATIONS } from '../../src/central/migrations.js';
import { startLocalUpstream, type LocalUpstream } from './local-upstream.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';
import { startStack, type Stack } from './stack.js';

export interface MemberOptions {
  readonly name: string;
  readonly upstream: string;
  /** Extra central.postgres keys (batchSize, passwordFile, ...) or a replacement url. */
  readonly postgres?: Record<string, unknown>;
  readonly config?: Record<string, unknown>;
  /** Reuse this directory (lists, data/) and keep it on close: for restart tests. */
  readonly dir?: string;
  readonly log?: Logger;
}

/** A poolsink stack shipping to `server`, quick intervals so tests wait little. */
export function startMember(server: PostgresServer, options: MemberOptions): Promise<Stack> {
  return startStack({
    upstreams: [options.upstream],
    config: {
      instance: { name: options.name },
      database: { flushIntervalMs: 20 },
      central: {
        postgres: { url: server.url(), shipIntervalMs: 50, syncIntervalMs: 1000, ...options.postgres },
      },
      ...options.config,
    },
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
}

/** Runs `sql` on the fleet database (a connection of its own). */
export async function centralQuery<R extends pg.QueryResultRow>(
  server: PostgresServer,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Empties the fleet tables between tests (they exist once a member has started). */
export async function resetCentral(server: PostgresServer): Promise<void> {
  await centralQuery(
    server,
    `DO $$ BEGIN
  IF to_regclass('central_events') IS NOT NULL THEN
    TRUNCATE central_events, central_hosts, central_incidents, central_instances, central_allowlist, central_lists,
      central_miner_logins, central_key_spaces;
  END IF;
END $$`,
  );
}

/**
 * Polls an async condition until it holds (for state with no event to await: a row arriving). A
 * condition that throws (a table a starting member has not created yet) is tried again; at the
 * deadline the last error is the failure.
 */
export async function eventually(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await condition())) throw new Error('the condition does not hold yet');
    },
    { timeout: timeoutMs, interval: 25 },
  );
}

/** The backend id of a connection (to watch it from another). */
export async function backendPid(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]?.pid ?? -1;
}

/** Waits until backend `pid` of the database at `url` waits for a lock (watched on a connection of its own). */
export async function waitUntilWaitingForLock(url: string, pid: number): Promise<void> {
  const watcher = new pg.Client({ connectionString: url });
  await watcher.connect();
  try {
    await eventually(
      async () =>
        (await watcher.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [pid])).rows
          .length === 1,
    );
  } finally {
    await watcher.end();
  }
}

/** The central migrations up to `version` only, as a poolsink of that time left the database. */
export async function migrateCentralTo(client: pg.ClientBase, version: number): Promise<void> {
  await client.query(`CREATE TABLE poolsink_schema (
  version int PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (const migration of CENTRAL_MIGRATIONS.filter((m) => m.version <= version)) {
    await client.query(migration.sql);
    await client.query('INSERT INTO poolsink_schema (version, description) VALUES ($1, $2)', [
      migration.version,
      migration.description,
    ]);
  }
}

export interface FleetHarness {
  /** The fleet PostgreSQL (started before the block's tests). */
  readonly server: PostgresServer;
  readonly upstream: LocalUpstream;
  /** A member on the block's upstream, closed after the test (after the block with `scenario`). */
  startMember(options: Omit<MemberOptions, 'upstream'>): Promise<Stack>;
  /** Members az-a and az-b with the same extra configuration, closed after the test. */
  startPair(config?: Record<string, unknown>): Promise<[Stack, Stack]>;
  /** Closed after the test (after the block with `scenario`): a notify receiver, ... */
  closeAfterTest<T extends { close(): Promise<void> }>(resource: T): T;
}

export interface FleetHarnessOptions {
  /**
   * The block's tests are one scenario, each going on from the state the last one left: the fleet
   * tables are not emptied between them, and the members (and what closeAfterTest was given) are
   * closed after the block, not after each test.
   */
  readonly scenario?: boolean;
}

/**
 * The set-up of a fleet test (one or two members), as hooks of the calling describe block: one PostgreSQL
 * and a local upstream for the block, the fleet tables emptied before each test, and the members
 * (and what closeAfterTest was given) closed after it (after the block with `scenario`).
 */
export function useFleet(options: FleetHarnessOptions = {}): FleetHarness {
  let server: PostgresServer | undefined;
  let upstream: LocalUpstream | undefined;
  let resources: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    server = await startPostgres();
    upstream = await startLocalUpstream();
  }, 120_000);
  const closeResources = async (): Promise<void> => {
    await Promise.all(resources.map((resource) => resource.close()));
    resources = [];
  };
  afterAll(async () => {
    if (options.scenario === true) await closeResources();
    await upstream?.close();
    await server?.close();
  });
  if (options.scenario !== true) {
    beforeEach(async () => {
      if (server !== undefined) await resetCentral(server);
    });
    afterEach(closeResources);
  }
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} not started (useFleet in a describe block)`);
    return value;
  };
  const harness: FleetHarness = {
    get server() {
      return started(server, 'PostgreSQL');
    },
    get upstream() {
      return started(upstream, 'the upstream');
    },
    async startMember(options) {
      return harness.closeAfterTest(
        await startMember(harness.server, { ...options, upstream: harness.upstream.address }),
      );
    },
    async startPair(config = {}) {
      const a = await harness.startMember({ name: 'az-a', config });
      const b = await harness.startMember({ name: 'az-b', config });
      return [a, b];
    },
    closeAfterTest(resource) {
      resources.push(resource);
      return resource;
    },
  };
  return harness;
}
