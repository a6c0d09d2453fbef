/**
 * Where each list's entries came from, in words an operator reads in `docker logs` and in
 * `poolsink lists`: a URL list that could not be fetched yet blocks nothing of its own, and that
 * must be plain to see (the other lists, the bundled file first, are what protects meanwhile).
 */
import type { ListInfo } from './list-api.js';

type ListFacts = Pick<ListInfo, 'source' | 'loadedFrom' | 'lastError'>;

const URL_SOURCE = /^https?:\/\//i;

/** `file`, `fetched`, `last known good`, `not fetched yet`, `failed` or `not loaded`. */
export function loadedFromLabel(list: ListFacts): string {
  const url = URL_SOURCE.test(list.source);
  if (list.loadedFrom === 'source') return url ? 'fetched' : 'file';
  if (list.loadedFrom === 'last-known-good') return 'last known good';
  if (list.lastError !== undefined) return 'failed';
  return url ? 'not fetched yet' : 'not loaded';
}

/**
 * The start line's message: `poolsink started: blocking 1234 names from 3 lists (mining-pools 120,
 * nocoin 900 [last known good], coinminer 0 [not fetched yet])`. A file read from its source is
 * the normal case and carries no tag. Alert lists block nothing and are counted apart:
 * `…from 3 lists, alerting on 80 names from 1 list (…, doh-bypass 80 [alert])`. List names are
 * safe to print (LIST_NAME_PATTERN).
 */
export function startMessage(
  lists: readonly (ListFacts & Pick<ListInfo, 'name' | 'entries'> & Partial<Pick<ListInfo, 'mode'>>)[],
  blocked: number,
  alerting = 0,
): string {
  const parts = lists.map((list) => {
    const label = loadedFromLabel(list);
    const tags = [...(label === 'file' ? [] : [label]), ...(list.mode === 'alert' ? ['alert'] : [])];
    return tags.length === 0 ? `${list.name} ${list.entries}` : `${list.name} ${list.entries} [${tags.join(', ')}]`;
  });
  const count = (n: number): string => `${n} ${n === 1 ? 'list' : 'lists'}`;
  const alertLists = lists.filter((list) => list.mode === 'alert').length;
  const alerts = alertLists > 0 ? `, alerting on ${alerting} names from ${count(alertLists)}` : '';
  const details = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  return `poolsink started: blocking ${blocked} names from ${count(lists.length - alertLists)}${alerts}${details}`;
}
