/**
 * `poolsink events`: the API's filters (`--client IP|CIDR`, `--domain`, `--list`, `--action`,
 * `--since`, `--until`) read by the API's own parser (admin/params.ts), so both accept the same
 * values; `--format table` (default) prints the newest `--limit` events, `csv` and `ndjson` write
 * every matching event as the API's exports do.
 */
import { csvChunks, ndjsonChunks } from '../admin/export.js';
import { InvalidParameterError } from '../admin/http-errors.js';
import { networkClients, parseEventQuery } from '../admin/params.js';
import { PoolsinkError } from '../errors.js';
import type { EventFilter, EventQueries } from '../store/types.js';
import { eventsTable } from './report.js';

export const EVENT_FILTER_OPTIONS = ['client', 'domain', 'list', 'action', 'since', 'until'] as const;
export type EventFilterOption = (typeof EVENT_FILTER_OPTIONS)[number];

export interface EventsCommandOptions {
  filters: Partial<Record<EventFilterOption, string>>;
  format?: string;
  limit: number;
}

/** The API parser's InvalidParameterError as a usage error naming the option (`--since: ...`). */
function asUsageError(err: unknown): unknown {
  return err instanceof InvalidParameterError
    ? new PoolsinkError('ERR_USAGE', `--${err.message}`, { cause: err })
    : err;
}

/** Writes the report through `write`, chunk by chunk (an export may be large). */
export async function eventsCommand(
  queries: EventQueries,
  options: EventsCommandOptions,
  nowMs: number,
  write: (text: string) => void,
): Promise<void> {
  const format = options.format ?? 'table';
  if (format !== 'table' && format !== 'csv' && format !== 'ndjson')
    throw new PoolsinkError('ERR_USAGE', `--format must be table, csv or ndjson (got ${JSON.stringify(format)})`);
  const params = new URLSearchParams();
  for (const name of EVENT_FILTER_OPTIONS) {
    const value = options.filters[name];
    if (value !== undefined) params.set(name, value);
  }
  let filter: EventFilter;
  try {
    const query = parseEventQuery(params, nowMs);
    filter = { ...query.filter, ...(await networkClients('client', query.network, queries)) };
  } catch (err: unknown) {
    throw asUsageError(err);
  }
  if (format === 'table') {
    write(eventsTable(queries.events(filter, options.limit).events));
    return;
  }
  const events = queries.iterateEvents(filter);
  for await (const chunk of format === 'csv' ? csvChunks(events) : ndjsonChunks(events)) write(chunk);
}
