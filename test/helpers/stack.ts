/**
 * Starts the real poolsink stack for integration tests: listeners on 127.0.0.1 port 0, the given
 * local upstreams, lists from temp files. Everything it starts is closed by `close()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { validateConfig } from '../../src/config/load.js';
import { startPoolsink, type Poolsink } from '../../src/main.js';
import type { BlockEvent, BlockEventSink } from '../../src/dns/resolver.js';

export interface StackOptions {
  upstreams: readonly string[];
  /** name → list text (written to temp files). */
  lists?: Record<string, { text: string; format?: string; mode?: string }>;
  /** Extra raw config merged over the defaults (same shape as poolsink.yaml). */
  config?: Record<string, unknown>;
  clock?: () => number;
}

export interface Stack {
  poolsink: Poolsink;
  port: number;
  events: BlockEvent[];
  close(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-it-'));
  const lists = Object.entries(options.lists ?? { pools: { text: 'pool.example\nminexmr.test\n' } }).map(([name, list]) => {
    const file = join(dir, `${name}.txt`);
    writeFileSync(file, list.text);
    return { name, source: file, format: list.format ?? 'auto', mode: list.mode ?? 'block' };
  });
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
  const config = validateConfig(raw, dir, join(dir, 'no-resolv.conf'));
  const events: BlockEvent[] = [];
  const sink: BlockEventSink = { record: (event) => events.push(event) };
  const poolsink = await startPoolsink(config, {
    log: pino({ level: 'silent' }),
    events: sink,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  const port = poolsink.udp[0]?.port ?? 0;
  return {
    poolsink,
    port,
    events,
    async close() {
      await poolsink.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
