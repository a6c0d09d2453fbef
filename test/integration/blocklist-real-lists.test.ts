/**
 * The real public lists in ../shared/blocklists (see its README), downloaded from a local HTTP
 * server (plain and gzip) and loaded by the list manager: the sliced parser must count what
 * parseList counts on the whole file (test/integration/blocklist-parse-real-lists.test.ts checks
 * those counts against the files themselves), and the distinct names the matcher holds must be the README's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseList, type ListFormat } from '../../src/blocklist/parse.js';
import { startListServer, type ListServer } from '../helpers/list-server.js';
import { startManager, type ManagerHarness } from '../helpers/list-manager.js';

const sharedLists = fileURLToPath(new URL('../../../shared/blocklists/', import.meta.url));

/** file, format as the README gives it, distinct names per the README (undefined: not given as one number). */
const REAL_LISTS: readonly [string, ListFormat, number | undefined][] = [
  ['nocoin/nocoin.txt', 'adblock', undefined],
  ['nocoin/hosts.txt', 'hosts', 313],
  ['anudeepnd-coinminer/CoinMiner.txt', 'hosts', 5830],
  ['blocklistproject-crypto/crypto.txt', 'hosts', 1274],
  ['blocklistproject-crypto/crypto-ags.txt', 'adblock', 1272],
  ['blocklistproject-crypto/crypto-nl.txt', 'domains', 1272],
  ['stevenblack-unified/domains.txt', 'domains', 83_808],
  ['stevenblack-large/domains.txt', 'domains', 171_523],
];

describe.skipIf(!existsSync(sharedLists))('real lists through fetch, slices and the manager', () => {
  let server: ListServer;
  let lists: ManagerHarness;

  beforeAll(async () => {
    server = await startListServer();
    lists = await startManager({});
  });

  afterAll(async () => {
    await lists.close();
    await server.close();
  });

  test.each(
    REAL_LISTS.flatMap(([file, format, distinct]) => [
      [file, format, distinct, false],
      [file, format, distinct, true],
    ]),
  )('%s (%s, README: %s distinct names), gzip %s', async (file, format, distinct, gzip) => {
    const body = readFileSync(`${sharedLists}${file}`);
    const path = `/${gzip ? 'gz' : 'plain'}/${file}`;
    server.set(path, { body, gzip });
    const name = `${gzip ? 'gz' : 'plain'}-${file.replace(/[^A-Za-z0-9.-]/g, '_')}`;
    const expected = parseList(body.toString('utf8'), 'auto');
    expect(expected.format).toBe(format);

    const info = await lists.manager.addList({ name, source: server.url(path), format: 'auto', maxShrinkPercent: 100 });
    expect(info).toMatchObject({
      entries: expected.domains.length + expected.wildcards.length,
      skipped: expected.skipped,
      skippedByReason: expected.skippedByReason,
      loadedFrom: 'source',
    });
    expect(info.lastError).toBeUndefined();
    const summary = lists.current().lists.find((l) => l.name === name);
    if (distinct !== undefined) expect(summary?.entries).toBe(distinct);
    else expect(summary?.entries).toBe(new Set([...expected.domains, ...expected.wildcards.map((w) => `*.${w}`)]).size);
    await lists.manager.removeList(name);
  });
});
