import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { BlockEvent } from '../../src/dns/resolver.js';
import { isPoolsinkError } from '../../src/errors.js';
import { openBlockLog } from '../../src/store/block-log.js';

const log = pino({ level: 'silent' });

function blockEvent(i: number): BlockEvent {
  return {
    timeMs: Date.now() - 1000 + i,
    clientIp: `127.0.0.${2 + (i % 3)}`,
    clientPort: 5000 + i,
    protocol: i % 2 === 0 ? 'udp' : 'tcp',
    qname: i % 2 === 0 ? 'xmr.pool.example' : 'pool.example',
    qtype: 1,
    list: 'miners',
    rule: 'pool.example',
    action: 'blocked',
    answer: 'nxdomain',
  };
}

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-store-block-log-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a restart keeps every event, host summary and outcome count', async () => {
  const config = { path: join(dir, 'data', 'poolsink.db'), retentionDays: 90, maxEvents: 50_000_000 };
  const first = openBlockLog(config, { log });
  for (let i = 0; i < 30; i += 1) first.writer.record(blockEvent(i));
  first.writer.addOutcomes({ blocked: 30, forwarded: 12 });
  await first.close(); // writes everything buffered, as SIGTERM does

  const second = openBlockLog(config, { log });
  try {
    expect([...second.queries.iterateEvents({})]).toHaveLength(30);
    expect(second.queries.hosts(undefined, 10).map((h) => [h.clientIp, h.blockedCount, h.distinctDomains])).toEqual([
      ['127.0.0.4', 10, 2],
      ['127.0.0.3', 10, 2],
      ['127.0.0.2', 10, 2],
    ]);
    const stats = second.queries.stats(Date.now() - 3_600_000, 5);
    expect(stats.outcomes).toEqual({ blocked: 30, forwarded: 12 });
    expect(stats.topDomains).toEqual([
      { domain: 'pool.example', count: 15 },
      { domain: 'xmr.pool.example', count: 15 },
    ]);
  } finally {
    await second.close();
  }
});

test('a bad setting closes the database again and is reported', () => {
  const config = { path: join(dir, 'poolsink.db'), retentionDays: 0, maxEvents: 10 };
  let error: unknown;
  try {
    openBlockLog(config, { log });
  } catch (err: unknown) {
    error = err;
  }
  expect(isPoolsinkError(error, 'ERR_CONFIG_INVALID')).toBe(true);
  // The file is not held open: it can be removed and opened afresh.
  rmSync(config.path);
  const ok = openBlockLog({ ...config, retentionDays: 1 }, { log });
  return ok.close();
});
