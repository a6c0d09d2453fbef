/**
 * Builds an upstream pool against local upstreams for the upstream tests, with a log sink to
 * assert on. Everything it starts is closed when the test finishes.
 */
import { pino } from 'pino';
import { onTestFinished } from 'vitest';
import { createUpstreamPool, type UpstreamPool, type UpstreamResult } from '../../src/upstream/pool.js';
import { readQuery } from './answers.js';
import { startLocalUpstream, type BehaviorChoice, type LocalUpstream } from './local-upstream.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface Harness {
  pool: UpstreamPool;
  upstreams: LocalUpstream[];
  logs: LogLine[];
  /** Every result passed to `done` through `ask`, in order: one per query, or a bug. */
  completions: UpstreamResult[];
  /** Forwards `query` and resolves with the first result `done` receives. */
  ask(query: Buffer): Promise<UpstreamResult>;
}

export interface HarnessOptions {
  /** One local upstream per entry, in pool order. */
  upstreams: readonly (BehaviorChoice | { host: '::1'; behavior?: BehaviorChoice })[];
  timeoutMs?: number;
  socketCount?: number;
  socketMaxUses?: number;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const upstreams: LocalUpstream[] = [];
  onTestFinished(async () => {
    await Promise.all(upstreams.map((u) => u.close()));
  });
  for (const entry of options.upstreams) {
    const upstream =
      typeof entry === 'object' && 'host' in entry
        ? await startLocalUpstream({
            host: entry.host,
            ...(entry.behavior !== undefined ? { behavior: entry.behavior } : {}),
          })
        : await startLocalUpstream({ behavior: entry });
    upstreams.push(upstream);
  }
  const logs: LogLine[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const parsed: LogLine = JSON.parse(line);
        logs.push(parsed);
      },
    },
  );
  const pool = createUpstreamPool({
    upstreams: upstreams.map((u) => ({ host: u.host, port: u.port })),
    timeoutMs: options.timeoutMs ?? 200,
    log,
    ...(options.socketCount !== undefined ? { socketCount: options.socketCount } : {}),
    ...(options.socketMaxUses !== undefined ? { socketMaxUses: options.socketMaxUses } : {}),
  });
  onTestFinished(() => pool.close());
  const completions: UpstreamResult[] = [];
  return {
    pool,
    upstreams,
    logs,
    completions,
    ask(query) {
      return new Promise((resolve) => {
        pool.query(query, questionEnd(query), (result) => {
          completions.push(result);
          resolve(result);
        });
      });
    },
  };
}

export function questionEnd(query: Buffer): number {
  const info = readQuery(query);
  if (info === undefined) throw new Error('not a readable query');
  return 12 + info.question.length;
}
