import { describe, expect, test } from 'vitest';
import { loadedFromLabel, startMessage } from '../../src/blocklist/list-summary.js';

const FILE = 'blocklists/mining-pools.txt';
const URL = 'https://example.org/hosts.txt';

describe('loadedFromLabel', () => {
  test.each([
    [{ source: FILE, loadedFrom: 'source' }, 'file'],
    [{ source: URL, loadedFrom: 'source' }, 'fetched'],
    [{ source: URL, loadedFrom: 'last-known-good' }, 'last known good'],
    [{ source: URL, lastError: 'HTTP 500' }, 'failed'],
    [{ source: URL }, 'not fetched yet'],
    [{ source: FILE, lastError: 'cannot read' }, 'failed'],
    [{ source: FILE }, 'not loaded'],
    // A list keeps what it had when a later update fails: where it came from is what counts.
    [{ source: URL, loadedFrom: 'last-known-good', lastError: 'HTTP 500' }, 'last known good'],
  ] as const)('%o → %s', (list, label) => {
    expect(loadedFromLabel(list)).toBe(label);
  });
});

describe('startMessage', () => {
  test('names every list with its entries; files read from their source carry no tag', () => {
    const lists = [
      { name: 'mining-pools', source: FILE, entries: 120, loadedFrom: 'source' },
      { name: 'nocoin', source: URL, entries: 900, loadedFrom: 'last-known-good' },
      { name: 'coinminer', source: URL, entries: 0 },
    ] as const;
    expect(startMessage(lists, 1020)).toBe(
      'poolsink started: blocking 1020 names from 3 lists (mining-pools 120, nocoin 900 [last known good], coinminer 0 [not fetched yet])',
    );
  });

  test('no list at all', () => {
    expect(startMessage([], 0)).toBe('poolsink started: blocking 0 names from 0 lists');
  });
});
