import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createSourceCache, type CacheMeta, type SourceCache } from '../../src/blocklist/source-cache.js';
import { isPoolsinkError } from '../../src/errors.js';

let root: string;
let dir: string;
let cache: SourceCache;

const meta: CacheMeta = {
  source: 'https://lists.test/a.txt',
  sha256: 'abc',
  validators: { etag: '"v1"', lastModified: 'Wed, 21 Oct 2026 07:28:00 GMT' },
  savedMs: 1234,
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'poolsink-cache-'));
  dir = join(root, 'data', 'lists');
  cache = createSourceCache({ dir });
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('createSourceCache', () => {
  test('nothing kept yet: undefined, and the directory need not exist', async () => {
    expect(await cache.read('pools')).toBeUndefined();
  });

  test('a copy written is read back with its metadata, and no temp file remains', async () => {
    await cache.write('pools', Buffer.from('pool.example\n'), meta);
    const copy = await cache.read('pools');
    expect(copy?.body.toString()).toBe('pool.example\n');
    expect(copy?.meta).toEqual(meta);
    expect(readdirSync(dir).sort()).toEqual(['pools.meta.json', 'pools.txt']);
  });

  test('a second write replaces the first', async () => {
    await cache.write('pools', Buffer.from('old.example\n'), meta);
    await cache.write('pools', Buffer.from('new.example\n'), { ...meta, validators: {} });
    const copy = await cache.read('pools');
    expect(copy?.body.toString()).toBe('new.example\n');
    expect(copy?.meta?.validators).toEqual({});
  });

  test.each([
    ['missing', undefined],
    ['not JSON', '{"source": "x", "sha'],
    ['wrong types', '{"source": 1, "sha256": "abc", "savedMs": 1}'],
  ])('metadata %s: the text is still returned, without metadata', async (_label, metaText) => {
    await cache.write('pools', Buffer.from('pool.example\n'), meta);
    if (metaText === undefined) rmSync(join(dir, 'pools.meta.json'));
    else writeFileSync(join(dir, 'pools.meta.json'), metaText);
    const copy = await cache.read('pools');
    expect(copy?.body.toString()).toBe('pool.example\n');
    expect(copy?.meta).toBeUndefined();
  });

  test('names that are not list names never become paths', async () => {
    for (const name of ['../evil', '.hidden', 'a/b', '']) {
      let thrown: unknown;
      try {
        await cache.read(name);
      } catch (err: unknown) {
        thrown = err;
      }
      expect(isPoolsinkError(thrown, 'ERR_INVALID')).toBe(true);
    }
  });

  test("a list named like another list's metadata does not collide with it", async () => {
    await cache.write('pools', Buffer.from('a.example\n'), meta);
    await cache.write('pools.meta', Buffer.from('b.example\n'), meta);
    expect((await cache.read('pools'))?.body.toString()).toBe('a.example\n');
    expect((await cache.read('pools.meta'))?.body.toString()).toBe('b.example\n');
  });

  test('remove deletes both files; removing twice is fine', async () => {
    await cache.write('pools', Buffer.from('pool.example\n'), meta);
    await cache.remove('pools');
    await cache.remove('pools');
    expect(await cache.read('pools')).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  test('removeTempFiles deletes what a crash left behind, and only that', async () => {
    await cache.write('pools', Buffer.from('pool.example\n'), meta);
    writeFileSync(join(dir, '.pools.txt.tmp-1234'), 'half');
    await cache.removeTempFiles();
    expect(readdirSync(dir).sort()).toEqual(['pools.meta.json', 'pools.txt']);
  });

  test('an unwritable directory is ERR_STORE_WRITE naming the list', async () => {
    writeFileSync(join(root, 'file'), 'not a directory');
    const broken = createSourceCache({ dir: join(root, 'file', 'lists') });
    let thrown: unknown;
    try {
      await broken.write('pools', Buffer.from('x.example\n'), meta);
    } catch (err: unknown) {
      thrown = err;
    }
    expect(isPoolsinkError(thrown, 'ERR_STORE_WRITE')).toBe(true);
    expect(String(thrown)).toContain('"pools"');
  });
});
