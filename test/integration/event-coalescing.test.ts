/**
 * Block-log coalescing end to end: real UDP queries through the real server; repeats of one
 * (client, name, type, list, action) are one row with a count, and every count the API, incidents
 * and exports show stays exact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import Database from 'better-sqlite3';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { udpExchange } from '../helpers/clients.js';
import { encodeQuery } from '../helpers/packets.js';

const upstreams: LocalUpstream[] = [];
const stacks: Stack[] = [];
const cleanup: string[] = [];

afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
  for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(coalesceWindowMs?: number, dir?: string): Promise<Stack> {
  // dir: kept on close, so a test can read the database after stop.
  const up = await startLocalUpstream();
  upstreams.push(up);
  const stack = await startStack({
    upstreams: [up.address],
    ...(dir !== undefined ? { dir } : {}),
    ...(coalesceWindowMs !== undefined ? { config: { database: { coalesceWindowMs } } } : {}),
  });
  stacks.push(stack);
  return stack;
}

async function blockedFrom(stack: Stack, clientIp: string, qname: string, times: number, qtype = 1): Promise<void> {
  const before = stack.events.length;
  for (let i = 0; i < times; i++) {
    const reply = await udpExchange(stack.port, encodeQuery(qname, { id: 100 + i, type: qtype }), {
      bindAddress: clientIp,
    });
    if (reply === undefined) throw new Error(`no answer to ${qname} from ${clientIp}`);
  }
  // dns.workers > 1: the events reach the primary over IPC after the answers.
  await until(() => stack.events.length >= before + times);
}

type Row = Record<string, unknown>;

function isRecord(value: unknown): value is Row {
  return typeof value === 'object' && value !== null;
}

async function listOf(stack: Stack, path: string, key: string): Promise<Row[]> {
  const { status, body } = await stack.api(path);
  expect(status).toBe(200);
  const items = isRecord(body) ? body[key] : undefined;
  if (!Array.isArray(items)) throw new Error(`unexpected ${path} body ${JSON.stringify(body)}`);
  return items.filter(isRecord);
}

/** Longer than any test takes, so the rows a test expects do not depend on how fast it runs. */
const LONG_WINDOW_MS = 600_000;

const sumCounts = (rows: readonly Row[]): number => rows.reduce((sum, row) => sum + Number(row['count']), 0);

describe('block-log coalescing', () => {
  test('50 repeats of one name from one client: rows sum to 50, and so do the host, incident and export', async () => {
    const stack = await start(LONG_WINDOW_MS);
    await blockedFrom(stack, '127.0.0.2', 'x.pool.example', 50);
    stack.poolsink.eventWriter.flush();

    const rows = await listOf(stack, '/api/v1/events?client=127.0.0.2', 'events');
    // The first query at once, the 49 repeats as one follow-up.
    expect(rows).toHaveLength(2);
    expect(sumCounts(rows)).toBe(50);
    const [followUp, first] = rows;
    expect(first).toMatchObject({ count: 1, qname: 'x.pool.example' });
    expect(first?.['lastTimeMs']).toBe(first?.['timeMs']);
    expect(followUp).toMatchObject({ count: 49, qname: 'x.pool.example' });
    expect(Number(followUp?.['lastTimeMs'])).toBeGreaterThanOrEqual(Number(followUp?.['timeMs']));

    const hosts = await listOf(stack, '/api/v1/hosts', 'hosts');
    expect(hosts).toEqual([expect.objectContaining({ clientIp: '127.0.0.2', blockedCount: 50 })]);
    const incidents = await listOf(stack, '/api/v1/incidents', 'incidents');
    expect(incidents).toEqual([expect.objectContaining({ clientIp: '127.0.0.2', attempts: 50 })]);
    const stats = await stack.api('/api/v1/stats?since=1h');
    expect(stats.body).toMatchObject({ topHosts: [{ clientIp: '127.0.0.2', count: 50 }] });

    const csv = await stack.api('/api/v1/events?format=csv');
    expect(csv.status).toBe(200);
    const lines = String(csv.body).trim().split('\r\n');
    const header = lines[0]?.split(',') ?? [];
    const countColumn = header.indexOf('count');
    expect(countColumn).toBeGreaterThan(0);
    expect(header).toContain('lastTime');
    const csvTotal = lines.slice(1).reduce((sum, line) => sum + Number(line.split(',')[countColumn]), 0);
    expect(csvTotal).toBe(50);

    const ndjson = await fetch(`http://127.0.0.1:${stack.poolsink.admin.address.port}/api/v1/events?format=ndjson`, {
      headers: { authorization: `Bearer ${stack.poolsink.adminToken}` },
    });
    expect(ndjson.status).toBe(200);
    const objects = (await ndjson.text())
      .trim()
      .split('\n')
      .map((line): unknown => JSON.parse(line))
      .filter(isRecord);
    expect(sumCounts(objects)).toBe(50);
  });

  test('different clients, names and types are separate rows', async () => {
    const stack = await start(LONG_WINDOW_MS);
    await blockedFrom(stack, '127.0.0.2', 'x.pool.example', 3);
    await blockedFrom(stack, '127.0.0.3', 'x.pool.example', 3);
    await blockedFrom(stack, '127.0.0.2', 'y.pool.example', 3);
    await blockedFrom(stack, '127.0.0.2', 'x.pool.example', 3, 28);
    stack.poolsink.eventWriter.flush();
    const rows = await listOf(stack, '/api/v1/events', 'events');
    expect(sumCounts(rows)).toBe(12);
    const keys = new Set(
      rows.map((row) => `${String(row['clientIp'])} ${String(row['qname'])} ${String(row['qtype'])}`),
    );
    expect([...keys].sort()).toEqual([
      '127.0.0.2 x.pool.example 1',
      '127.0.0.2 x.pool.example 28',
      '127.0.0.2 y.pool.example 1',
      '127.0.0.3 x.pool.example 1',
    ]);
    // Each key: its first query, then one follow-up with the two repeats.
    expect(rows.map((row) => row['count']).sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });

  test('coalesceWindowMs 0: one row per query', async () => {
    const stack = await start(0);
    await blockedFrom(stack, '127.0.0.2', 'x.pool.example', 5);
    stack.poolsink.eventWriter.flush();
    const rows = await listOf(stack, '/api/v1/events', 'events');
    expect(rows).toHaveLength(5);
    expect(rows.every((row) => row['count'] === 1)).toBe(true);
  });

  test('the follow-up is written when the window ends, without a flush', async () => {
    const stack = await start(1000);
    await blockedFrom(stack, '127.0.0.2', 'x.pool.example', 4);
    // The first query is written at once; the repeats when their window has ended (sweep timer).
    // Polls the API (an async condition, which test/helpers/wait.ts's until() does not take).
    const rows = await vi.waitUntil(
      async () => {
        const page = await listOf(stack, '/api/v1/events?client=127.0.0.2', 'events');
        return sumCounts(page) === 4 ? page : undefined;
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.length).toBeLessThan(4);
  });

  test('stop writes the counts of open windows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'poolsink-coalesce-'));
    cleanup.push(dir);
    const stack = await start(LONG_WINDOW_MS, dir);
    await blockedFrom(stack, '127.0.0.3', 'x.pool.example', 7);
    const path = join(dir, 'data', 'poolsink.db');
    await stacks.splice(0, 1)[0]?.close();
    const db = new Database(path, { readonly: true });
    try {
      const counts = db
        .prepare<[], { client_ip: string; total: number; rows: number }>(
          'SELECT client_ip, sum(count) AS total, count(*) AS rows FROM events GROUP BY client_ip',
        )
        .all();
      expect(counts).toEqual([{ client_ip: '127.0.0.3', total: 7, rows: 2 }]);
    } finally {
      db.close();
    }
  });
});
