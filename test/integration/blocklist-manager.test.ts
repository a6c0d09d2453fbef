import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { PoolsinkError, isPoolsinkError, type ErrorCode } from '../../src/errors.js';
import { startListServer, type ListServer } from '../helpers/list-server.js';
import { listSpec, startManager, type ManagerHarness } from '../helpers/list-manager.js';

const WARN = 40;
const ERROR = 50;

let server: ListServer;
let h: ManagerHarness | undefined;

beforeEach(async () => {
  server = await startListServer();
});

afterEach(async () => {
  await h?.close();
  h = undefined;
  await server.close();
});

function pools(count: number, prefix = 'pool'): string {
  return `${Array.from({ length: count }, (_, i) => `${prefix}${i}.example`).join('\n')}\n`;
}

async function failure(promise: Promise<unknown>): Promise<{ code: ErrorCode | undefined; message: string }> {
  try {
    await promise;
  } catch (err: unknown) {
    return {
      code: isPoolsinkError(err) ? err.code : undefined,
      message: err instanceof Error ? err.message : String(err),
    };
  }
  throw new Error('expected a failure');
}

async function harness(setup: Parameters<typeof startManager>[0]): Promise<ManagerHarness> {
  h = await startManager(setup);
  return h;
}

function info(name: string) {
  const found = h?.manager.lists().find((l) => l.name === name);
  if (found === undefined) throw new Error(`no list ${name}`);
  return found;
}

describe('start', () => {
  test('loads file lists before anything is fetched and hands out one matcher', async () => {
    server.set('/feed.txt', { body: pools(3, 'feed') });
    const t = await harness({
      files: { 'local.txt': 'local.example\n' },
      lists: [listSpec('local', 'local.txt'), listSpec('feed', server.url('/feed.txt'))],
    });
    expect(t.matchers).toHaveLength(1);
    expect(t.verdict('x.local.example')).toBe('block');
    expect(t.verdict('feed0.example')).toBe('allow'); // not fetched yet: no copy on disk
    expect(server.requests).toHaveLength(0);
    expect(info('local')).toMatchObject({ origin: 'config', entries: 1, loadedFrom: 'source' });
    expect(info('feed')).toMatchObject({ entries: 0 });
    // The first fetch is scheduled within a second of start (beside the 50 ms file poll).
    const first = t.scheduler.pending().filter((timer) => timer.delayMs !== 50 && timer.delayMs <= 1000);
    expect(first).toHaveLength(1);
  });

  test('a missing optional file is reported, and the other lists still load', async () => {
    const t = await harness({
      files: { 'ok.txt': 'ok.example\n' },
      lists: [listSpec('gone', 'gone.txt', { optional: true }), listSpec('ok', 'ok.txt')],
    });
    expect(info('gone').lastError).toContain('cannot read');
    expect(t.verdict('ok.example')).toBe('block');
    expect(t.logs.some((l) => l.level === WARN && l['list'] === 'gone')).toBe(true);
  });

  test('a start with no blocked name logs an error', async () => {
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    expect(t.manager.matcher.size).toBe(0);
    expect(t.logs.filter((l) => l.level === ERROR).map((l) => l.msg)).toEqual([
      expect.stringContaining('no names are blocked'),
    ]);
  });
});

describe('URL lists', () => {
  test('a refresh fetches, swaps and keeps a last known good copy; the next one is a 304', async () => {
    server.set('/feed.txt', { body: pools(3), etag: '"v1"' });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    expect(await t.manager.refresh('feed', { force: false })).toEqual([
      { name: 'feed', outcome: 'updated', entries: 3, previousEntries: 0 },
    ]);
    expect(t.verdict('a.pool1.example')).toBe('block');
    expect(info('feed')).toMatchObject({ entries: 3, loadedFrom: 'source' });
    expect(info('feed').lastChangeMs).toBeTypeOf('number');
    expect(existsSync(join(t.dataDir, 'lists', 'feed.txt'))).toBe(true);

    const swaps = t.matchers.length;
    expect(await t.manager.refresh('feed', { force: false })).toEqual([
      { name: 'feed', outcome: 'unchanged', entries: 3, previousEntries: 3 },
    ]);
    expect(server.requestsTo('/feed.txt')[1]?.headers['if-none-match']).toBe('"v1"');
    expect(t.matchers).toHaveLength(swaps); // nothing rebuilt
  });

  test('304 by Last-Modified', async () => {
    server.set('/feed.txt', { body: pools(3), lastModified: 'Wed, 21 Oct 2026 07:28:00 GMT' });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    expect(await t.manager.refresh('feed', { force: false })).toMatchObject([{ outcome: 'unchanged' }]);
    expect(server.requestsTo('/feed.txt')[1]?.headers['if-modified-since']).toBe('Wed, 21 Oct 2026 07:28:00 GMT');
  });

  test('the same bytes without validators are unchanged and not rebuilt', async () => {
    server.set('/feed.txt', { body: pools(3) });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    const swaps = t.matchers.length;
    expect(await t.manager.refresh('feed', { force: false })).toMatchObject([{ outcome: 'unchanged' }]);
    expect(t.matchers).toHaveLength(swaps);
  });

  test('an update adds and removes names', async () => {
    server.set('/feed.txt', { body: 'old.example\nkept.example\n' });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    server.set('/feed.txt', { body: 'new.example\nkept.example\n' });
    expect(await t.manager.refresh(undefined, { force: false })).toMatchObject([{ name: 'feed', outcome: 'updated' }]);
    expect(t.verdict('old.example')).toBe('allow');
    expect(t.verdict('new.example')).toBe('block');
    expect(t.verdict('kept.example')).toBe('block');
  });

  test.each([
    ['HTTP 500', { status: 500 }, 'HTTP 500'],
    ['a stalled body', { body: pools(100), stallAfterBytes: 10 }, 'body stalled'],
    ['an oversized body', { body: pools(5000) }, 'larger than'],
  ])('%s fails, keeps the previous entries and is reported once', async (_label, route, message) => {
    server.set('/feed.txt', { body: pools(3) });
    const t = await harness({
      lists: [listSpec('feed', server.url('/feed.txt'))],
      fetch: { bodyTimeoutMs: 200, maxBytes: 20_000 },
    });
    await t.manager.refresh('feed', { force: false });
    server.set('/feed.txt', route);
    const [first] = await t.manager.refresh('feed', { force: false });
    expect(first).toMatchObject({ outcome: 'failed', entries: 3, previousEntries: 3 });
    expect(first?.message).toContain(message);
    await t.manager.refresh('feed', { force: false });
    expect(t.verdict('pool2.example')).toBe('block');
    expect(info('feed').lastError).toContain(message);
    expect(t.manager.status().lists[0]?.fetchFailures).toBe(2);
    expect(t.logs.filter((l) => l.level === WARN && l['list'] === 'feed')).toHaveLength(1); // the second is at debug

    server.set('/feed.txt', { body: pools(4) });
    expect(await t.manager.refresh('feed', { force: false })).toMatchObject([{ outcome: 'updated', entries: 4 }]);
    expect(info('feed').lastError).toBeUndefined();
  });

  test.each([
    ['an empty list', { body: '# all gone\n' }, '0 entries'],
    [
      'binary garbage',
      { body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48]) },
      'not a text list',
    ],
    ['a shrink past maxShrinkPercent', { body: pools(4) }, 'from 10 to 4 entries'],
    ['an HTML error page', { body: '<html><body>Service unavailable</body></html>\n' }, '0 entries'],
  ])('%s is rejected and the previous entries stay', async (_label, route, message) => {
    server.set('/feed.txt', { body: pools(10) });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    server.set('/feed.txt', route);
    const [result] = await t.manager.refresh('feed', { force: false });
    expect(result).toMatchObject({ outcome: 'rejected', entries: 10, previousEntries: 10 });
    expect(result?.message).toContain(message);
    expect(t.verdict('pool9.example')).toBe('block');
    expect(info('feed')).toMatchObject({ entries: 10, lastError: expect.stringContaining(message) });
    expect(t.logs.some((l) => l.level === WARN && l.msg.includes('rejected'))).toBe(true);
  });

  test('force overrides the shrink guard (and downloads unconditionally)', async () => {
    server.set('/feed.txt', { body: pools(10), etag: '"v1"' });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    server.set('/feed.txt', { body: pools(2), etag: '"v2"' });
    expect(await t.manager.refresh('feed', { force: false })).toMatchObject([{ outcome: 'rejected' }]);
    expect(await t.manager.refresh('feed', { force: true })).toMatchObject([
      { outcome: 'updated', entries: 2, previousEntries: 10 },
    ]);
    expect(server.requestsTo('/feed.txt').at(-1)?.headers['if-none-match']).toBeUndefined();
    expect(t.verdict('pool9.example')).toBe('allow');
    expect(t.verdict('pool1.example')).toBe('block');
    expect(info('feed').lastError).toBeUndefined();
  });

  test('two refreshes at once share one download', async () => {
    server.set('/feed.txt', { body: pools(3), trickleBytes: 8, trickleMs: 5 });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    const [a, b] = await Promise.all([
      t.manager.refresh('feed', { force: false }),
      t.manager.refresh(undefined, { force: false }),
    ]);
    expect(a).toEqual(b);
    expect(server.requestsTo('/feed.txt')).toHaveLength(1);
  });
});

describe('restart', () => {
  test('with the server down, the last known good copy blocks from the first query', async () => {
    server.set('/feed.txt', { body: pools(5), etag: '"v1"' });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    const fetchedAt = info('feed').lastFetchMs;
    await server.close();

    await t.restart();
    expect(t.verdict('pool4.example')).toBe('block');
    expect(info('feed')).toMatchObject({ entries: 5, loadedFrom: 'last-known-good', lastFetchMs: fetchedAt });
    // The next fetch is due a refreshSec after the last one, not at once.
    expect(t.scheduler.pending().some((timer) => timer.delayMs > 1000)).toBe(true);
    const [result] = await t.manager.refresh('feed', { force: false });
    expect(result?.outcome).toBe('failed');
    expect(t.verdict('pool4.example')).toBe('block');
    server = await startListServer(); // for afterEach
  });

  test('the last error survives a restart, and a list that last failed is fetched again soon', async () => {
    server.set('/feed.txt', { body: pools(5) });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    server.set('/feed.txt', { status: 502 });
    await t.manager.refresh('feed', { force: false });
    await t.restart();
    expect(info('feed')).toMatchObject({
      loadedFrom: 'last-known-good',
      entries: 5,
      lastError: expect.stringContaining('HTTP 502'),
    });
    expect(
      t.scheduler
        .pending()
        .filter((timer) => timer.delayMs !== 50)
        .every((timer) => timer.delayMs <= 1000),
    ).toBe(true);
  });

  test('validators are sent back after a restart: a 304 needs no parsing', async () => {
    server.set('/feed.txt', { body: pools(5), etag: '"v1"' });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    await t.restart();
    expect(await t.manager.refresh('feed', { force: false })).toMatchObject([{ outcome: 'unchanged', entries: 5 }]);
    expect(server.requestsTo('/feed.txt').at(-1)?.headers['if-none-match']).toBe('"v1"');
  });

  test('a copy from another source is used, but its validators are not sent to the new one', async () => {
    server.set('/old.txt', { body: pools(5), etag: '"old"' });
    server.set('/new.txt', { body: pools(6), etag: '"new"' });
    const t = await harness({ lists: [listSpec('feed', server.url('/old.txt'))] });
    await t.manager.refresh('feed', { force: false });
    await t.restart({ lists: [listSpec('feed', server.url('/new.txt'))] });
    expect(t.verdict('pool4.example')).toBe('block');
    await t.manager.refresh('feed', { force: false });
    expect(server.requestsTo('/new.txt')[0]?.headers['if-none-match']).toBeUndefined();
    expect(info('feed').entries).toBe(6);
  });
});

describe('scheduling', () => {
  test('refreshes come every refreshSec, jittered earlier by at most 10%; failures retry sooner', async () => {
    server.set('/feed.txt', { body: pools(3) });
    const t = await harness({
      lists: [listSpec('feed', server.url('/feed.txt'), { refreshSec: 7200 })],
      random: () => 0.5,
    });
    expect(t.scheduler.fire((timer) => timer.delayMs === 500)).toBe(1); // within a second of start
    await vi.waitFor(() => expect(info('feed').entries).toBe(3));
    await vi.waitFor(() =>
      expect(t.scheduler.pending().some((timer) => timer.delayMs === 7200 * 1000 * 0.95)).toBe(true),
    );

    server.set('/feed.txt', { status: 503 });
    expect(t.scheduler.fire((timer) => timer.delayMs > 1000)).toBe(1);
    await vi.waitFor(() => expect(info('feed').lastError).toContain('HTTP 503'));
    // First retry after a minute (jittered), not after two hours.
    await vi.waitFor(() => expect(t.scheduler.pending().some((timer) => timer.delayMs === 60_000 * 0.95)).toBe(true));
  });
});

describe('file lists', () => {
  test('reload when the file is rewritten, replaced by rename, or removed (keeping the entries)', async () => {
    const t = await harness({
      files: { 'local.txt': 'one.example\n' },
      lists: [listSpec('local', 'local.txt', { maxShrinkPercent: 100 })],
    });
    const path = join(t.dir, 'local.txt');
    const poll = async (): Promise<void> => {
      t.scheduler.fire((timer) => timer.delayMs === 50);
      await vi.waitFor(() => expect(t.scheduler.pending().filter((timer) => timer.delayMs === 50)).toHaveLength(1));
    };

    writeFileSync(path, 'one.example\ntwo.example\n');
    await poll();
    expect(t.verdict('two.example')).toBe('block');

    writeFileSync(join(t.dir, 'local.txt.new'), 'three.example\n');
    renameSync(join(t.dir, 'local.txt.new'), path); // how editors and config management replace files
    await poll();
    expect(t.verdict('three.example')).toBe('block');
    expect(t.verdict('one.example')).toBe('allow');

    rmSync(path);
    await poll();
    expect(info('local').lastError).toContain('cannot read');
    expect(t.verdict('three.example')).toBe('block');

    writeFileSync(path, 'four.example\n');
    await poll();
    expect(t.verdict('four.example')).toBe('block');
    expect(info('local').lastError).toBeUndefined();
  });

  test('an unchanged file is not read again', async () => {
    const t = await harness({ files: { 'local.txt': 'one.example\n' }, lists: [listSpec('local', 'local.txt')] });
    const swaps = t.matchers.length;
    const fetchedAt = info('local').lastFetchMs;
    t.scheduler.fire((timer) => timer.delayMs === 50);
    await vi.waitFor(() => expect(t.scheduler.pending().filter((timer) => timer.delayMs === 50)).toHaveLength(1));
    expect(info('local').lastFetchMs).toBe(fetchedAt);
    expect(t.matchers).toHaveLength(swaps);
  });
});

describe('management', () => {
  test('lists from the configuration file are read-only but can be refreshed', async () => {
    const t = await harness({ files: { 'local.txt': 'one.example\n' }, lists: [listSpec('local', 'local.txt')] });
    expect(await failure(t.manager.updateList('local', { mode: 'alert' }))).toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await failure(t.manager.removeList('local'))).toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await failure(t.manager.addList({ name: 'local', source: 'x.txt' }))).toMatchObject({
      code: 'ERR_CONFLICT',
    });
    expect(await t.manager.refresh('local', { force: false })).toMatchObject([{ name: 'local', outcome: 'unchanged' }]);
    expect(await failure(t.manager.refresh('nope', { force: false }))).toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(await failure(t.manager.updateList('nope', {}))).toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(await failure(t.manager.removeList('nope'))).toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  test.each([
    [{ name: '../x', source: 'https://lists.test/a' }, 'name'],
    [{ name: 'x', source: '' }, 'source'],
    [{ name: 'x', source: 'ftp://lists.test/a' }, 'source'],
    [{ name: 'x', source: 'https://lists.test/a', format: 'rss' }, 'format'],
    [{ name: 'x', source: 'https://lists.test/a', mode: 'drop' }, 'mode'],
    [{ name: 'x', source: 'https://lists.test/a', refreshSec: 5 }, 'refreshSec'],
    [{ name: 'x', source: 'https://lists.test/a', maxShrinkPercent: 101 }, 'maxShrinkPercent'],
  ])('addList(%j) is ERR_INVALID naming %s', async (definition, field) => {
    const t = await harness({});
    // The API hands over parsed JSON: wrong values arrive typed as the interface says.
    const result = await failure(t.manager.addList(JSON.parse(JSON.stringify(definition))));
    expect(result.code).toBe('ERR_INVALID');
    expect(result.message).toContain(field);
  });

  test('a runtime list: added, fetched at once, changed, kept across a restart, removed', async () => {
    server.set('/a.txt', { body: pools(3, 'a') });
    server.set('/b.txt', { body: pools(2, 'b') });
    const t = await harness({ files: { 'local.txt': 'one.example\n' }, lists: [listSpec('local', 'local.txt')] });

    const added = await t.manager.addList({ name: 'extra', source: server.url('/a.txt'), mode: 'alert' });
    expect(added).toMatchObject({
      name: 'extra',
      origin: 'runtime',
      entries: 3,
      mode: 'alert',
      refreshSec: 86_400,
      maxShrinkPercent: 50,
    });
    expect(t.current().match('a0.example')).toMatchObject({ kind: 'block', list: 'extra', mode: 'alert' });
    expect(t.manager.lists().map((l) => [l.name, l.origin])).toEqual([
      ['local', 'config'],
      ['extra', 'runtime'],
    ]);

    expect(await failure(t.manager.updateList('extra', { refreshSec: 5 }))).toMatchObject({ code: 'ERR_INVALID' });
    expect(await t.manager.updateList('extra', { mode: 'block', refreshSec: 600 })).toMatchObject({
      mode: 'block',
      refreshSec: 600,
    });
    expect(t.current().match('a0.example')).toMatchObject({ kind: 'block', mode: 'block' });

    expect(await t.manager.updateList('extra', { source: server.url('/b.txt') })).toMatchObject({ entries: 2 });
    expect(t.verdict('a0.example')).toBe('allow');
    expect(t.verdict('b1.example')).toBe('block');

    await t.restart();
    expect(info('extra')).toMatchObject({
      origin: 'runtime',
      source: server.url('/b.txt'),
      refreshSec: 600,
      loadedFrom: 'last-known-good',
    });
    expect(t.verdict('b1.example')).toBe('block');

    await t.manager.removeList('extra');
    expect(t.verdict('b1.example')).toBe('allow');
    expect(existsSync(join(t.dataDir, 'lists', 'extra.txt'))).toBe(false);
    await t.restart();
    expect(t.manager.lists().map((l) => l.name)).toEqual(['local']);
  });

  test('writes that complete later (the writer thread): a failed delete keeps the list; a second change to an allowlist name meanwhile is refused', async () => {
    server.set('/a.txt', { body: pools(3, 'a') });
    let failDelete = true;
    let releaseDelete: (() => void) | undefined;
    const deleteReleased = new Promise<void>((r) => (releaseDelete = r));
    let releaseInsert: (() => void) | undefined;
    const t = await harness({
      records: (store) => ({
        runtimeLists: () => store.runtimeLists(),
        runtimeAllowlist: () => store.runtimeAllowlist(),
        listStates: () => store.listStates(),
        insertRuntimeList: async (row) => store.insertRuntimeList(row),
        updateRuntimeList: async (row) => store.updateRuntimeList(row),
        deleteRuntimeList: async (name) => {
          await deleteReleased;
          if (failDelete) throw new PoolsinkError('ERR_STORE_WRITE', 'disk I/O error');
          store.deleteRuntimeList(name);
        },
        insertAllowed: async (row) => {
          await new Promise<void>((r) => (releaseInsert = r));
          store.insertAllowed(row);
        },
        deleteAllowed: async (domain) => store.deleteAllowed(domain),
        saveListState: async (row) => store.saveListState(row),
      }),
    });
    await t.manager.addList({ name: 'extra', source: server.url('/a.txt') });
    const removing = failure(t.manager.removeList('extra'));
    // While the delete is being written the list is already gone from the manager...
    expect(t.manager.lists().map((l) => l.name)).toEqual([]);
    releaseDelete?.();
    // ...and comes back, still blocking, when it fails.
    expect(await removing).toMatchObject({ code: 'ERR_STORE_WRITE' });
    expect(t.manager.lists().map((l) => l.name)).toEqual(['extra']);
    expect(t.verdict('a1.example')).toBe('block');
    failDelete = false;
    await t.manager.removeList('extra');
    expect(t.verdict('a1.example')).toBe('allow');

    const first = t.manager.allow('a1.example');
    expect(await failure(t.manager.allow('A1.example.'))).toMatchObject({ code: 'ERR_CONFLICT' });
    releaseInsert?.();
    expect(await first).toMatchObject({ domain: 'a1.example', origin: 'runtime' });
    expect(await failure(t.manager.allow('a1.example'))).toMatchObject({ code: 'ERR_CONFLICT' });
    await t.restart({ records: (store) => store });
    expect(t.manager.allowlist().map((e) => e.domain)).toEqual(['a1.example']);
  });

  test.each([
    ['a fetch failure', { status: 500 }, 'ERR_LIST_FETCH', 'list source could not be fetched'], // details: log only
    ['an empty list', { body: '# nothing\n' }, 'ERR_LIST_REJECTED', '0 entries'],
    ['binary garbage', { body: Buffer.from([0, 1, 2, 3, 0, 0, 0]) }, 'ERR_LIST_REJECTED', 'not a text list'],
  ])('a list is added only once it loads: %s is %s and nothing is kept', async (_label, route, code, message) => {
    server.set('/a.txt', route);
    const t = await harness({});
    const result = await failure(t.manager.addList({ name: 'extra', source: server.url('/a.txt') }));
    expect(result).toMatchObject({ code });
    expect(result.message).toContain('"extra"');
    expect(result.message).toContain(message);
    expect(t.manager.lists()).toEqual([]);
    await t.restart();
    expect(t.manager.lists()).toEqual([]);
    server.set('/a.txt', { body: pools(2) });
    expect(await t.manager.addList({ name: 'extra', source: server.url('/a.txt') })).toMatchObject({ entries: 2 });
  });

  test('a missing file source is ERR_LIST_READ', async () => {
    const t = await harness({});
    expect(await failure(t.manager.addList({ name: 'extra', source: 'nowhere.txt' }))).toMatchObject({
      code: 'ERR_LIST_READ',
    });
  });

  test('a PATCH to a source that does not load changes nothing', async () => {
    server.set('/a.txt', { body: pools(3, 'a') });
    server.set('/broken.txt', { status: 404 });
    const t = await harness({});
    await t.manager.addList({ name: 'extra', source: server.url('/a.txt') });
    expect(
      await failure(t.manager.updateList('extra', { source: server.url('/broken.txt'), mode: 'alert' })),
    ).toMatchObject({ code: 'ERR_LIST_FETCH' });
    expect(info('extra')).toMatchObject({ source: server.url('/a.txt'), mode: 'block', entries: 3 });
    expect(await failure(t.manager.updateList('extra', { format: 'hosts' }))).toMatchObject({
      code: 'ERR_LIST_REJECTED',
    });
    expect(info('extra')).toMatchObject({ format: 'auto', entries: 3 });
    expect(t.verdict('a2.example')).toBe('block');
    await t.restart();
    expect(info('extra')).toMatchObject({ source: server.url('/a.txt'), mode: 'block', format: 'auto' });
  });

  test('changing the format downloads again (the copy on disk is the normalized list)', async () => {
    server.set('/a.txt', { body: '0.0.0.0 hosts.example\nplain.example\n' });
    const t = await harness({});
    await t.manager.addList({ name: 'extra', source: server.url('/a.txt'), format: 'hosts' });
    expect(t.verdict('plain.example')).toBe('allow');
    const requests = server.requests.length;
    expect(await t.manager.updateList('extra', { format: 'domains' })).toMatchObject({ format: 'domains', entries: 1 });
    expect(server.requests).toHaveLength(requests + 1);
    expect(t.verdict('plain.example')).toBe('block');
    expect(t.verdict('hosts.example')).toBe('allow');
  });
});

describe('allowlist', () => {
  test('entries take effect at once, persist, and survive a restart', async () => {
    const t = await harness({
      files: { 'local.txt': 'pool.example\nother.example\n' },
      lists: [listSpec('local', 'local.txt')],
      allowlist: ['other.example'],
    });
    expect(t.verdict('x.pool.example')).toBe('block');
    const swaps = t.matchers.length;
    expect(await t.manager.allow('*.X.Pool.Example.')).toEqual({ domain: 'x.pool.example', origin: 'runtime' });
    expect(t.matchers).toHaveLength(swaps + 1); // swapped before allow() resolved
    expect(t.current().match('a.x.pool.example')).toEqual({ kind: 'allowlisted', rule: 'x.pool.example' });
    expect(t.verdict('y.pool.example')).toBe('block');
    expect(t.manager.allowlist()).toEqual([
      { domain: 'other.example', origin: 'config' },
      { domain: 'x.pool.example', origin: 'runtime' },
    ]);

    await t.restart();
    expect(t.current().match('x.pool.example').kind).toBe('allowlisted');
    expect(t.manager.allowlist()).toContainEqual({ domain: 'x.pool.example', origin: 'runtime' });

    await t.manager.unallow('x.pool.example');
    expect(t.verdict('x.pool.example')).toBe('block');
    await t.restart();
    expect(t.verdict('x.pool.example')).toBe('block');
  });

  test('conflicts and mistakes', async () => {
    const t = await harness({ allowlist: ['cfg.example'] });
    await t.manager.allow('a.example');
    expect(await failure(t.manager.allow('a.example'))).toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await failure(t.manager.allow('cfg.example'))).toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await failure(t.manager.unallow('cfg.example'))).toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await failure(t.manager.unallow('b.example'))).toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(await failure(t.manager.allow('com'))).toMatchObject({ code: 'ERR_INVALID' });
    expect(await failure(t.manager.allow('not a name'))).toMatchObject({ code: 'ERR_INVALID' });
  });

  test('an allowlist change made during a build is in the matcher that build swaps in', async () => {
    server.set('/big.txt', { body: pools(200_000) });
    const t = await harness({ lists: [listSpec('big', server.url('/big.txt'))] });
    const refreshing = t.manager.refresh('big', { force: false });
    await vi.waitFor(() => expect(t.manager.status().building).toBe(true), { interval: 1, timeout: 10_000 });
    await t.manager.allow('pool7.example');
    expect(t.manager.status().building).toBe(true);
    await refreshing;
    expect(t.current().match('pool7.example').kind).toBe('allowlisted');
    expect(t.verdict('pool8.example')).toBe('block');
  });
});

describe('status', () => {
  test('reports each list, the swap and the build', async () => {
    server.set('/feed.txt', { body: pools(3) });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.refresh('feed', { force: false });
    const status = t.manager.status();
    expect(status).toMatchObject({ blockedNames: 3, allowlistSize: 0, building: false });
    expect(status.lastSwap?.blockedNames).toBe(3);
    expect(status.lists[0]).toMatchObject({ name: 'feed', entries: 3, fetchFailures: 0, refreshing: false });
    expect(status.lists[0]?.nextRefreshMs).toBeTypeOf('number');
  });

  test('stop() cancels timers, and later work swaps nothing', async () => {
    server.set('/feed.txt', { body: pools(3) });
    const t = await harness({ lists: [listSpec('feed', server.url('/feed.txt'))] });
    await t.manager.stop();
    expect(t.scheduler.pending()).toHaveLength(0);
    const swaps = t.matchers.length;
    await t.manager.refresh('feed', { force: false });
    expect(t.matchers).toHaveLength(swaps);
  });
});
