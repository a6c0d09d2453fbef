/**
 * Starts the real poolsink stack for integration tests: listeners on 127.0.0.1 port 0, the given
 * local upstreams, lists from temp files. Everything it starts is closed by `close()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { afterEach } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { startPoolsink, type Poolsink } from '../../src/main.js';
import type { BlockEvent, BlockEventSink } from '../../src/dns/block-event.js';
import { udpExchange } from './clients.js';
import { startLocalUpstream, type LocalUpstream, type LocalUpstreamOptions } from './local-upstream.js';
import { encodeQuery } from './packets.js';
import { until } from './wait.js';

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

/** A blocking list and an alert-mode list: what the end-to-end tests of events and incidents query. */
export const POOL_AND_TRIAL_LISTS: NonNullable<StackOptions['lists']> = {
  pools: { text: 'pool.example\nminexmr.test\n' },
  trial: { text: 'newpool.example\n', mode: 'alert' },
};

export interface StackHarness {
  /** A stack on a fresh local upstream, with the harness's options under `options`; both closed after the test. */
  start(options?: Omit<StackOptions, 'upstreams'>, upstream?: LocalUpstreamOptions): Promise<Stack>;
  /** Closes `stack` before the test ends (a restart test); it is not closed again after the test. */
  close(stack: Stack): Promise<void>;
  /** The local upstream `stack` was started on. */
  upstreamOf(stack: Stack): LocalUpstream;
  /** A temporary directory (a restart test's `dir`), removed after the test. */
  tempDir(prefix: string): string;
}

/**
 * The set-up of tests that start whole stacks, as an afterEach of the calling file or block: the
 * stacks started, then their upstreams, are closed after each test, and the temporary directories
 * removed.
 */
export function useStacks(defaults: Omit<StackOptions, 'upstreams'> = {}): StackHarness {
  const upstreams = new Map<Stack, LocalUpstream>();
  const open = new Set<Stack>();
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all([...open].map((s) => s.close()));
    open.clear();
    await Promise.all([...upstreams.values()].map((u) => u.close()));
    upstreams.clear();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    async start(options = {}, upstream = {}) {
      const up = await startLocalUpstream(upstream);
      let stack: Stack;
      try {
        stack = await startStack({ ...defaults, ...options, upstreams: [up.address] });
      } catch (err: unknown) {
        await up.close();
        throw err;
      }
      upstreams.set(stack, up);
      open.add(stack);
      return stack;
    },
    async close(stack) {
      open.delete(stack);
      await stack.close();
    },
    upstreamOf(stack) {
      const up = upstreams.get(stack);
      if (up === undefined) throw new Error('not a stack of this harness');
      return up;
    },
    tempDir(prefix) {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
  };
}

/** Sends `times` A queries for `qname` from `clientIp` (a loopback address), one after another; each must be answered. */
export async function queriesFrom(stack: Stack, clientIp: string, qname: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const reply = await udpExchange(stack.port, encodeQuery(qname, { id: (i % 60_000) + 1 }), {
      bindAddress: clientIp,
    });
    if (reply === undefined) throw new Error(`no answer to ${qname} from ${clientIp}`);
  }
}

/** queriesFrom for a listed name, then waits until the stack's event sink has the `times` events. */
export async function blockedFrom(stack: Stack, clientIp: string, qname: string, times: number): Promise<void> {
  const before = stack.events.length;
  await queriesFrom(stack, clientIp, qname, times);
  // dns.workers > 1: the events reach the primary over IPC after the answers.
  await until(() => stack.events.length >= before + times);
}
