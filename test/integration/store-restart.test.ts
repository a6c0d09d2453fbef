import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { BlockEvent } from '../../src/dns/block-event.js';
import { openStoreConnection } from '../../src/store/database.js';
import { createEventWriter } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';

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

test('a restart keeps every event, host summary and outcome count', () => {
  const path = join(dir, 'data', 'poolsink.db');
  const first = openStoreConnection(path, { log });
  const writer = createEventWriter({ connection: first, log });
  for (let i = 0; i < 30; i += 1) writer.record(blockEvent(i));
  writer.addOutcomes({ blocked: 30, forwarded: 12 });
  writer.close(); // writes everything buffered, as SIGTERM does
  first.close();

  const second = openStoreConnection(path, { log });
  try {
    const queries = createEventQueries(second);
    expect([...queries.iterateEvents({})]).toHaveLength(30);
    expect(queries.hosts(undefined, 10).map((h) => [h.clientIp, h.blockedCount, h.distinctDomains])).toEqual([
      ['127.0.0.4', 10, 2],
      ['127.0.0.3', 10, 2],
      ['127.0.0.2', 10, 2],
    ]);
    const stats = queries.stats(Date.now() - 3_600_000, 5);
    expect(stats.outcomes).toEqual({ blocked: 30, forwarded: 12 });
    expect(stats.topDomains).toEqual([
      { domain: 'pool.example', count: 15 },
      { domain: 'xmr.pool.example', count: 15 },
    ]);
  } finally {
    second.close();
  }
});
