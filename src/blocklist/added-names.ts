/**
 * The names a list gained: what a retro-hunt searches the query history for (README "Retro-hunt").
 * Compares a list's entries before and after an update (a refresh, a runtime list added, a source
 * changed); a list's first load at start gains nothing (see list-manager.ts). Capped: one change
 * triggers at most `max` names (the rest counted in `total`).
 */
import type { ParsedList } from './parse.js';

/** Names one list change hunts for at most. */
export const MAX_ADDED_NAMES = 10_000;

export interface AddedNames {
  /** The names gained (exact entries and wildcard bases), at most `max`, in list order. */
  readonly names: readonly string[];
  /** All names gained; more than names.length when capped. */
  readonly total: number;
}

/** Called by the list manager with the names a list gained. */
export type AddedNamesSink = (list: string, added: AddedNames) => void;

export function addedNames(previous: ParsedList | undefined, next: ParsedList, max = MAX_ADDED_NAMES): AddedNames {
  const known = new Set<string>();
  if (previous !== undefined) {
    for (const name of previous.domains) known.add(name);
    for (const name of previous.wildcards) known.add(name);
  }
  const names: string[] = [];
  let total = 0;
  for (const group of [next.domains, next.wildcards]) {
    for (const name of group) {
      if (known.has(name)) continue;
      known.add(name); // duplicates count once
      total += 1;
      if (names.length < max) names.push(name);
    }
  }
  return { names, total };
}
