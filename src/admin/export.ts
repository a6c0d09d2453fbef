/**
 * How stored events look over HTTP: the JSON view, and the chunked ndjson and csv exports. Export
 * chunks are ~64 KiB of lines, so a writer can wait for the socket to drain between chunks.
 */
import { qtypeName } from '../wire/type-names.js';
import type { HostIdentity } from '../inventory/host-identity.js';
import { presentName, terminalText } from '../net/presentation.js';
import type { StoredEvent } from '../store/types.js';

export interface EventView {
  readonly id: number;
  readonly time: string;
  readonly timeMs: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly protocol: string;
  readonly qname: string;
  readonly qtype: number;
  /** The type's mnemonic, or TYPE<n> (RFC 3597). */
  readonly qtypeName: string;
  readonly list: string;
  readonly rule: string;
  readonly action: string;
  readonly answer: string;
  readonly via: string | null;
  readonly incidentId: number | null;
  /** Queries the row stands for (repeats within database.coalesceWindowMs are one row). */
  readonly count: number;
  /** The last of them (time is the first's). */
  readonly lastTime: string;
  readonly lastTimeMs: number;
  /** Who the client was when the event was recorded; null when nothing was known. */
  readonly identity: HostIdentity | null;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** The fields of an event's query and verdict, the same in the local and the fleet views. */
export type QueryFieldsView = Omit<EventView, 'id' | 'incidentId' | 'count' | 'lastTime' | 'lastTimeMs' | 'identity'>;

/** An event's query and verdict as the API shows them (local events and fleet events alike). */
export function queryFieldsView(event: Omit<QueryFieldsView, 'time' | 'qtypeName'>): QueryFieldsView {
  return {
    time: isoTime(event.timeMs),
    timeMs: event.timeMs,
    clientIp: event.clientIp,
    clientPort: event.clientPort,
    protocol: event.protocol,
    qname: event.qname,
    qtype: event.qtype,
    qtypeName: qtypeName(event.qtype),
    list: event.list,
    rule: event.rule,
    action: event.action,
    answer: event.answer,
    via: event.via,
  };
}

export function eventView(event: StoredEvent): EventView {
  return {
    id: event.id,
    ...queryFieldsView(event),
    incidentId: event.incidentId,
    count: event.count,
    lastTime: isoTime(event.lastMs),
    lastTimeMs: event.lastMs,
    identity: event.identity ?? null,
  };
}

const CHUNK_CHARS = 64 * 1024;

const EVENT_CSV_COLUMNS = [
  'time',
  'timeMs',
  'id',
  'clientIp',
  'clientPort',
  'protocol',
  'qname',
  'qtype',
  'qtypeName',
  'list',
  'rule',
  'action',
  'answer',
  'via',
  'count',
  'lastTime',
] as const satisfies readonly (keyof EventView)[];

/** The export's columns: the event's, then its identity's name and instance id. */
export const CSV_COLUMNS: readonly string[] = [...EVENT_CSV_COLUMNS, 'host_name', 'instance_id'];

/** Columns holding DNS names, shown in presentation format; other text has its controls escaped. */
const NAME_COLUMNS: ReadonlySet<string> = new Set(['qname', 'via']);

/**
 * One CSV field (RFC 4180) for people and spreadsheets: controls escaped as \DDD (no raw CR, LF or
 * ESC reaches the file; `name` fields in DNS presentation format), then text a spreadsheet would
 * run as a formula (a leading =, +, -, @, tab or CR; names in the log come from hostile clients) is
 * prefixed with a quote character.
 */
export function csvField(value: string | number | null, name = false): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const shown = name ? presentName(value) : terminalText(value);
  const text = /^[=+\-@\t\r]/.test(shown) ? `'${shown}` : shown;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(event: StoredEvent): string {
  const view = eventView(event);
  const fields = EVENT_CSV_COLUMNS.map((column) => csvField(view[column], NAME_COLUMNS.has(column)));
  fields.push(csvField(event.identity?.name ?? null), csvField(event.identity?.instanceId ?? null));
  return `${fields.join(',')}\r\n`;
}

function ndjsonLine(event: StoredEvent): string {
  return `${JSON.stringify(eventView(event))}\n`;
}

/** `first`, then a line per item, in chunks of about CHUNK_CHARS. */
export async function* chunked<T>(
  first: string,
  items: Iterable<T> | AsyncIterable<T>,
  line: (item: T) => string,
): AsyncGenerator<string> {
  let chunk = first;
  for await (const item of items) {
    chunk += line(item);
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

export function csvChunks(events: Iterable<StoredEvent> | AsyncIterable<StoredEvent>): AsyncIterable<string> {
  return chunked(`${CSV_COLUMNS.join(',')}\r\n`, events, csvLine);
}

export function ndjsonChunks(events: Iterable<StoredEvent> | AsyncIterable<StoredEvent>): AsyncIterable<string> {
  return chunked('', events, ndjsonLine);
}
