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

  test('alert lists are counted apart and tagged: they block nothing', () => {
    const lists = [
      { name: 'mining-pools', source: FILE, entries: 230, loadedFrom: 'source', mode: 'block' },
      { name: 'nocoin', source: URL, entries: 0, mode: 'block' },
      { name: 'doh-bypass', source: 'blocklists/doh-bypass.txt', entries: 80, loadedFrom: 'source', mode: 'alert' },
      { name: 'trial', source: URL, entries: 0, lastError: 'HTTP 404', mode: 'alert' },
    ] as const;
    expect(startMessage(lists, 230, 80)).toBe(
      'poolsink started: blocking 230 names from 2 lists, alerting on 80 names from 2 lists ' +
        '(mining-pools 230, nocoin 0 [not fetched yet], doh-bypass 80 [alert], trial 0 [failed, alert])',
    );
    expect(startMessage([lists[2]], 0, 80)).toBe(
      'poolsink started: blocking 0 names from 0 lists, alerting on 80 names from 1 list (doh-bypass 80 [alert])',
    );
  });

  test('no list at all', () => {
    expect(startMessage([], 0)).toBe('poolsink started: blocking 0 names from 0 lists');
  });
});
