/**
 * Fleet tests: poolsink stacks that are members of one fleet PostgreSQL (postgres-server.ts), and
 * direct reads of that database to check what arrived.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { vi } from 'vitest';
import { startStack, type Stack } from './stack.js';
import type { PostgresServer } from './postgres-server.js';

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
      central_miner_logins;
  END IF;
END $$`,
  );
}

/** Polls an async condition until it holds (for state with no event to await: a row arriving). */
export async function eventually(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await vi.waitUntil(condition, { timeout: timeoutMs, interval: 25 });
}
