import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createListStore, type ListStore } from '../../src/store/list-store.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { isPoolsinkError } from '../../src/errors.js';

let connection: StoreConnection;
let store: ListStore;

const row = {
  name: 'feed',
  source: 'https://lists.test/a.txt',
  format: 'hosts',
  mode: 'alert',
  refreshSec: 3600,
  maxShrinkPercent: 25,
  createdMs: 1000,
} as const;

beforeEach(() => {
  connection = openStoreConnection(':memory:', { log: pino({ level: 'silent' }) });
  store = createListStore(connection);
});

afterEach(() => {
  connection.close();
});

function thrownBy(run: () => void): unknown {
  try {
    run();
  } catch (err: unknown) {
    return err;
  }
  return undefined;
}

describe('createListStore', () => {
  test('runtime lists: insert, read back oldest first, update, delete with their state', () => {
    store.insertRuntimeList(row);
    store.insertRuntimeList({ ...row, name: 'early', createdMs: 500 });
    expect(store.runtimeLists().map((r) => r.name)).toEqual(['early', 'feed']);
    expect(store.runtimeLists()[1]).toEqual(row);

    store.updateRuntimeList({ ...row, source: 'https://lists.test/b.txt', mode: 'block' });
    expect(store.runtimeLists()[1]).toMatchObject({ source: 'https://lists.test/b.txt', mode: 'block' });

    store.saveListState({ name: 'feed', entries: 3 });
    store.deleteRuntimeList('feed');
    expect(store.runtimeLists().map((r) => r.name)).toEqual(['early']);
    expect(store.listStates()).toEqual([]);
  });

  test('resolveForIps is kept as set, and absent when not set (the default applies)', () => {
    store.insertRuntimeList({ ...row, name: 'on', resolveForIps: true });
    store.insertRuntimeList({ ...row, name: 'off', resolveForIps: false });
    store.insertRuntimeList({ ...row, name: 'unset' });
    const byName = new Map(store.runtimeLists().map((r) => [r.name, r]));
    expect(byName.get('on')?.resolveForIps).toBe(true);
    expect(byName.get('off')?.resolveForIps).toBe(false);
    expect(byName.get('unset')).not.toHaveProperty('resolveForIps');
    store.updateRuntimeList({ ...row, name: 'on', resolveForIps: false });
    store.updateRuntimeList({ ...row, name: 'off' });
    const after = new Map(store.runtimeLists().map((r) => [r.name, r]));
    expect(after.get('on')?.resolveForIps).toBe(false);
    expect(after.get('off')).not.toHaveProperty('resolveForIps');
  });

  test('a second list of the same name is ERR_CONFLICT', () => {
    store.insertRuntimeList(row);
    expect(
      isPoolsinkError(
        thrownBy(() => store.insertRuntimeList(row)),
        'ERR_CONFLICT',
      ),
    ).toBe(true);
  });

  test('allowlist: insert, read back oldest first, conflict, delete', () => {
    store.insertAllowed({ domain: 'b.example', createdMs: 2 });
    store.insertAllowed({ domain: 'a.example', createdMs: 1 });
    expect(store.runtimeAllowlist()).toEqual([
      { domain: 'a.example', createdMs: 1 },
      { domain: 'b.example', createdMs: 2 },
    ]);
    expect(
      isPoolsinkError(
        thrownBy(() => store.insertAllowed({ domain: 'a.example', createdMs: 3 })),
        'ERR_CONFLICT',
      ),
    ).toBe(true);
    store.deleteAllowed('a.example');
    expect(store.runtimeAllowlist().map((r) => r.domain)).toEqual(['b.example']);
  });

  test('list state is upserted, and absent fields read back absent', () => {
    store.saveListState({ name: 'feed', etag: '"v1"', lastFetchMs: 10, lastError: 'HTTP 500', entries: 7 });
    store.saveListState({
      name: 'feed',
      lastModified: 'Wed, 21 Oct 2026 07:28:00 GMT',
      lastFetchMs: 20,
      lastChangeMs: 20,
      entries: 8,
    });
    expect(store.listStates()).toEqual([
      { name: 'feed', lastModified: 'Wed, 21 Oct 2026 07:28:00 GMT', lastFetchMs: 20, lastChangeMs: 20, entries: 8 },
    ]);
  });

  test('rows this version cannot read are skipped, not guessed at', () => {
    connection.db
      .prepare(
        "INSERT INTO runtime_lists (name, source, format, mode, refresh_sec, max_shrink_percent, created_ms) VALUES ('odd', 'x', 'rss', 'block', 60, 50, 1)",
      )
      .run();
    store.insertRuntimeList(row);
    expect(store.runtimeLists().map((r) => r.name)).toEqual(['feed']);
  });

  test('statements follow a reopened database', () => {
    store.insertAllowed({ domain: 'a.example', createdMs: 1 });
    connection.reopen(); // :memory: reopens empty
    expect(store.runtimeAllowlist()).toEqual([]);
    store.insertAllowed({ domain: 'b.example', createdMs: 1 });
    expect(store.runtimeAllowlist().map((r) => r.domain)).toEqual(['b.example']);
  });
});
