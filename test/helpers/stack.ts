/**
 * Starts the real poolsink stack for integration tests: listeners on 127.0.0.1 port 0, the given
 * local upstreams, lists from temp files. Everything it starts is closed by `close()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { validateConfig } from '../../src/config/load.js';
import { startPoolsink, type Poolsink } from '../../src/main.js';
import type { BlockEvent, BlockEventSink } from '../../src/dns/block-event.js';

export interface StackOptions {
  upstreams: readonly string[];
  /** name → list text (written to temp files). */
  lists?: Record<string, { text: string; format?: string; mode?: string }>;
  /** Extra raw config merged over the defaults (same shape as poolsink.yaml). */
  config?: Record<string, unknown>;
  clock?: () => number;
  /** Reuse this directory (lists, data) and keep it on close: for restart tests. */
  dir?: string;
  /** The stack's logger (default: silent), for tests of what it logs. */
  log?: Logger;
  /**
   * Always dns.workers 1, whatever POOLSINK_TEST_WORKERS says: for a test of one resolver's own
   * state (its cache, its in-flight coalescing, its rate limiter, its counters). The caller says why.
   */
  singleProcess?: boolean;
}

export interface Stack {
  poolsink: Poolsink;
  port: number;
  /** The directory holding the lists and data/. */
  dir: string;
  /** GET (or another method) on the admin API with the bearer token; JSON body parsed. */
  api(
    path: string,
    init?: { method?: Dispatcher.HttpMethod; body?: unknown; token?: string | null },
  ): Promise<{ status: number; body: unknown }>;
  events: BlockEvent[];
  /** A query outcome count (`refused`, `servfail`, …) over both transports, read through /metrics: the same with dns.workers. */
  outcome(name: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * POOLSINK_TEST_WORKERS=N runs every stack with dns.workers N (unless the test sets it), so the
 * suite checks the worker layout answers as the single process does.
 */
function withTestWorkers(raw: Record<string, unknown>): void {
  const workers = process.env['POOLSINK_TEST_WORKERS'];
  if (workers === undefined || workers === '') return;
  const dns = typeof raw['dns'] === 'object' && raw['dns'] !== null ? { ...raw['dns'] } : {};
  if (!('workers' in dns)) raw['dns'] = { ...dns, workers: workers === 'auto' ? 'auto' : Number(workers) };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'poolsink-it-'));
  const lists = Object.entries(options.lists ?? { pools: { text: 'pool.example\nminexmr.test\n' } }).map(
    ([name, list]) => {
      const file = join(dir, `${name}.txt`);
      writeFileSync(file, list.text);
      return { name, source: file, format: list.format ?? 'auto', mode: list.mode ?? 'block' };
    },
  );
  const raw: Record<string, unknown> = {
    dns: { listen: ['127.0.0.1:0'] },
    upstreams: options.upstreams,
    upstreamTimeoutMs: 300,
    blocklists: lists,
    log: { level: 'silent' },
    dataDir: join(dir, 'data'),
    admin: { listen: '127.0.0.1:0' },
    ...options.config,
  };
  // A fake clock cannot reach worker processes: such stacks stay single-process.
  if (options.clock === undefined && options.singleProcess !== true) withTestWorkers(raw);
  const config = validateConfig(raw, dir, join(dir, 'no-resolv.conf'));
  const events: BlockEvent[] = [];
  const sink: BlockEventSink = { record: (event) => events.push(event) };
  const poolsink = await startPoolsink(config, {
    log: options.log ?? pino({ level: 'silent' }),
    events: sink,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  const port = poolsink.udp[0]?.port ?? 0;
  const adminBase = `http://127.0.0.1:${poolsink.admin.address.port}`;
  const stack: Stack = {
    poolsink,
    port,
    dir,
    events,
    async api(path, init = {}) {
      const headers: Record<string, string> = {};
      const token = init.token === undefined ? poolsink.adminToken : init.token;
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      const response = await request(adminBase + path, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await response.body.text();
      const type = String(response.headers['content-type'] ?? '');
      return { status: response.statusCode, body: type.includes('json') && text !== '' ? JSON.parse(text) : text };
    },
    async outcome(name) {
      const response = await stack.api('/metrics');
      const pattern = new RegExp(
        `^poolsink_dns_query_outcomes_total\\{outcome="${name}",protocol="\\w+"\\} (\\d+)$`,
        'gm',
      );
      let total = 0;
      for (const match of String(response.body).matchAll(pattern)) total += Number(match[1]);
      return total;
    },
    async close() {
      await poolsink.close();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
