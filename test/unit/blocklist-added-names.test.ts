/** The names a list gained on an update (retro-hunt): exact entries and wildcard bases, capped. */
import { expect, test } from 'vitest';
import { addedNames } from '../../src/blocklist/added-names.js';
import type { ParsedList } from '../../src/blocklist/parse.js';

function list(domains: string[], wildcards: string[] = []): ParsedList {
  return { format: 'domains', domains, wildcards, skipped: 0, skippedByReason: {} };
}

test.each([
  ['a new list: every name', undefined, list(['a.example', 'b.example']), ['a.example', 'b.example'], 2],
  ['unchanged: none', list(['a.example']), list(['a.example']), [], 0],
  ['one gained', list(['a.example']), list(['a.example', 'b.example']), ['b.example'], 1],
  ['a removal gains nothing', list(['a.example', 'b.example']), list(['a.example']), [], 0],
  ['duplicates count once', list([]), list(['b.example', 'b.example']), ['b.example'], 1],
  ['a wildcard base is a name', list(['a.example']), list(['a.example'], ['w.example']), ['w.example'], 1],
  ['a name moved to a wildcard is not new', list(['w.example']), list([], ['w.example']), [], 0],
])('%s', (_label, previous, next, names, total) => {
  expect(addedNames(previous, next)).toEqual({ names, total });
});

test('capped: at most max names, all counted', () => {
  const next = list(Array.from({ length: 10 }, (_, i) => `n${i}.example`));
  expect(addedNames(undefined, next, 3)).toEqual({ names: ['n0.example', 'n1.example', 'n2.example'], total: 10 });
});
