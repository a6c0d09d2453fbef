/**
 * File modes outside systemd/Docker (SECURITY.md): under the usual umask 022 a real start must
 * still create dataDir 0700 and the database, its -wal/-shm files, the list copies and every other
 * file it writes 0600, because they hold client addresses and query names.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { startListServer, type ListServer } from '../helpers/list-server.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

let stack: Stack | undefined;
let server: ListServer | undefined;
let upstream: LocalUpstream | undefined;
let savedUmask: number | undefined;

afterEach(async () => {
  if (savedUmask !== undefined) process.umask(savedUmask);
  savedUmask = undefined;
  await stack?.close();
  await server?.close();
  await upstream?.close();
  stack = server = upstream = undefined;
});

/** Every path under `dir` (itself included) with its permission bits. */
function modes(dir: string): Map<string, { mode: number; isDirectory: boolean }> {
  const found = new Map<string, { mode: number; isDirectory: boolean }>();
  const visit = (path: string): void => {
    const stat = statSync(path);
    found.set(path, { mode: stat.mode & 0o777, isDirectory: stat.isDirectory() });
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return found;
}

test('under umask 022 a start creates dataDir 0700 and the database, -wal, -shm and list copies 0600', async () => {
  server = await startListServer();
  server.set('/pools.txt', { body: 'pool.example\n' });
  upstream = await startLocalUpstream();
  savedUmask = process.umask(0o022);
  stack = await startStack({
    upstreams: [upstream.address],
    config: { blocklists: [{ name: 'remote', source: server.url('/pools.txt'), format: 'domains' }] },
  });
  const dataDir = join(stack.dir, 'data');
  const db = join(dataDir, 'poolsink.db');
  const copy = join(dataDir, 'lists', 'remote.txt');
  await until(() => {
    try {
      // The copy's metadata is written last (source-cache.ts): once it is there, so is the rest.
      const meta = join(dataDir, 'lists', 'remote.meta.json');
      return (
        statSync(meta).isFile() &&
        statSync(copy).isFile() &&
        statSync(`${db}-wal`).isFile() &&
        statSync(`${db}-shm`).isFile()
      );
    } catch {
      return false; // not there yet
    }
  });

  const found = modes(dataDir);
  for (const path of [db, `${db}-wal`, `${db}-shm`, copy, join(dataDir, 'lists', 'remote.meta.json')])
    expect(found.get(path)?.mode, path).toBe(0o600);
  for (const [path, { mode, isDirectory }] of found) expect(mode, path).toBe(isDirectory ? 0o700 : 0o600);
});
