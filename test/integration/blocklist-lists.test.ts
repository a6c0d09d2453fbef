import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { loadLists } from '../../src/blocklist/list-snapshot.js';
import { createSourceCache } from '../../src/blocklist/source-cache.js';
import type { BlocklistConfig } from '../../src/config/types.js';

let dir: string;
const log = pino({ level: 'silent' });
const feed: BlocklistConfig = {
  name: 'feed',
  source: 'https://lists.test/feed.txt',
  format: 'auto',
  mode: 'block',
  refreshSec: 86_400,
  maxShrinkPercent: 50,
};
const local: BlocklistConfig = { ...feed, name: 'local', source: 'local.txt' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-snapshot-'));
  writeFileSync(join(dir, 'local.txt'), 'local.example\n');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a URL list is read from the last known good copy in dataDir, without fetching', async () => {
  await createSourceCache({ dir: join(dir, 'data', 'lists') }).write('feed', Buffer.from('0.0.0.0 pool.example\n'), {
    source: feed.source,
    sha256: 'x',
    validators: {},
    savedMs: 1,
  });
  const snapshot = await loadLists(
    { blocklists: [local, feed], allowlist: [], baseDir: dir, dataDir: join(dir, 'data') },
    log,
  );
  expect(snapshot.lists.map((l) => [l.name, l.format, l.entries, l.error])).toEqual([
    ['local', 'domains', 1, undefined],
    ['feed', 'hosts', 1, undefined],
  ]);
  expect(snapshot.matcher.match('x.pool.example').kind).toBe('block');
});

test('a URL list without a copy yet is reported and left out', async () => {
  const snapshot = await loadLists(
    { blocklists: [local, feed], allowlist: [], baseDir: dir, dataDir: join(dir, 'data') },
    log,
  );
  expect(snapshot.lists[1]?.error).toContain('no downloaded copy');
  expect(snapshot.matcher.match('local.example').kind).toBe('block');
});
