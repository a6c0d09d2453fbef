/**
 * `poolsink events|hosts|incidents|logins --fleet [--instance NAME]`: the fleet-wide view of a fleet
 * member (central.postgres), read through the running server's admin API (/api/v1/fleet/...), with
 * an INSTANCE column. When the server answers from its own log (`source: "local"`, PostgreSQL
 * away) the table says so; fleet incidents then fall back to this instance's own incidents, marked
 * the same way. Everything the API returns is shown with terminal escapes (names in DNS
 * presentation format), as the local commands do.
 */
import type { Config } from '../config/types.js';
import { PoolsinkError, isPoolsinkError } from '../errors.js';
import type { HostIdentity } from '../inventory/host-identity.js';
import { identityLabel } from '../inventory/identity-label.js';
import { presentName, terminalText } from '../net/presentation.js';
import { qtypeName } from '../wire/type-names.js';
import { call } from './lists.js';
import { LOGIN_COLUMNS, loginCells, type LoginRow } from './logins.js';
import { formatTable } from './table.js';

export const LOCAL_VIEW_NOTE = '(local view: PostgreSQL unreachable)\n';
export const TIMEOUT_VIEW_NOTE = '(local view: PostgreSQL did not answer within central.postgres.readTimeoutMs)\n';

type Row = Record<string, unknown>;

function isRecord(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rowsOf(answer: Row, key: string): Row[] {
  const rows = answer[key];
  return Array.isArray(rows) ? rows.filter(isRecord) : [];
}

/** A field as terminal-safe text ('-' when absent). */
function text(row: Row, key: string): string {
  const value = row[key];
  return value === null || value === undefined ? '-' : terminalText(String(value));
}

function name(row: Row, key: string): string {
  const value = row[key];
  return typeof value === 'string' ? presentName(value) : '-';
}

/** ISO time from the API → "2026-11-26 23:07:22" (what the local tables print). */
function time(row: Row, key: string): string {
  const value = row[key];
  return typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(value)
    ? value.slice(0, 19).replace('T', ' ')
    : '-';
}

function identityOf(value: unknown): HostIdentity | undefined {
  if (!isRecord(value)) return undefined;
  const tags = isRecord(value['tags'])
    ? Object.fromEntries(Object.entries(value['tags']).map(([k, v]) => [k, String(v)]))
    : undefined;
  return {
    source: value['source'] === 'reverse-dns' ? 'reverse-dns' : 'inventory',
    ...(typeof value['name'] === 'string' ? { name: value['name'] } : {}),
    ...(typeof value['instanceId'] === 'string' ? { instanceId: value['instanceId'] } : {}),
    ...(tags !== undefined ? { tags } : {}),
  };
}

function host(row: Row, width = 40): string {
  return terminalText(identityLabel(identityOf(row['identity']), width));
}

function note(answer: Row): string {
  if (answer['source'] !== 'local') return '';
  const fallback = answer['fallback'];
  return isRecord(fallback) && fallback['kind'] === 'timeout' ? TIMEOUT_VIEW_NOTE : LOCAL_VIEW_NOTE;
}

function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, value);
  const encoded = search.toString();
  return encoded === '' ? '' : `?${encoded}`;
}

export interface FleetEventsOptions {
  readonly filters: Readonly<Record<string, string | undefined>>;
  readonly limit: number;
  readonly format?: string;
}

export async function fleetEventsReport(config: Config, options: FleetEventsOptions): Promise<string> {
  if (options.format !== undefined && options.format !== 'table')
    throw new PoolsinkError('ERR_USAGE', '--fleet prints a table only (use the API for exports)');
  const answer = await call(
    config,
    'GET',
    `/api/v1/fleet/events${query({ ...options.filters, limit: String(options.limit) })}`,
  );
  const events = rowsOf(answer, 'events');
  if (events.length === 0) return `${note(answer)}no events\n`;
  return (
    note(answer) +
    formatTable(
      ['TIME (UTC)', 'INSTANCE', 'CLIENT', 'HOST', 'PROTO', 'QNAME', 'QTYPE', 'LIST', 'RULE', 'ACTION', 'COUNT'],
      events.map((e) => [
        time(e, 'time'),
        text(e, 'instance'),
        text(e, 'clientIp'),
        host(e),
        text(e, 'protocol'),
        typeof e['via'] === 'string' ? `${name(e, 'qname')} (via ${name(e, 'via')})` : name(e, 'qname'),
        typeof e['qtype'] === 'number' ? qtypeName(e['qtype']) : '-',
        text(e, 'list'),
        name(e, 'rule'),
        text(e, 'action'),
        text(e, 'count'),
      ]),
    )
  );
}

export async function fleetHostsReport(
  config: Config,
  options: { readonly instance?: string; readonly since?: string; readonly limit: number },
): Promise<string> {
  const answer = await call(
    config,
    'GET',
    `/api/v1/fleet/hosts${query({ instance: options.instance, since: options.since, limit: String(options.limit) })}`,
  );
  const hosts = rowsOf(answer, 'hosts');
  if (hosts.length === 0) return `${note(answer)}no host has tried to resolve a blocked name\n`;
  return (
    note(answer) +
    formatTable(
      ['CLIENT', 'INSTANCE', 'HOST', 'FIRST SEEN (UTC)', 'LAST SEEN (UTC)', 'BLOCKED'],
      hosts.map((h) => [
        text(h, 'clientIp'),
        text(h, 'instance'),
        host(h, 80),
        time(h, 'firstSeen'),
        time(h, 'lastSeen'),
        text(h, 'blockedCount'),
      ]),
    )
  );
}

export interface FleetIncidentsOptions {
  readonly state?: string;
  readonly instance?: string;
  readonly client?: string;
  readonly limit: number;
}

/**
 * Fleet incidents; `local` answers this instance's own incidents when PostgreSQL is away (the
 * fleet route answers 503 then), printed after the note.
 */
export async function fleetIncidentsReport(
  config: Config,
  options: FleetIncidentsOptions,
  local: () => Promise<string>,
): Promise<string> {
  let answer: Row;
  try {
    answer = await call(
      config,
      'GET',
      `/api/v1/fleet/incidents${query({
        state: options.state,
        instance: options.instance,
        client: options.client,
        limit: String(options.limit),
      })}`,
    );
  } catch (err: unknown) {
    if (!isPoolsinkError(err, 'ERR_CENTRAL_UNAVAILABLE')) throw err;
    return LOCAL_VIEW_NOTE + (await local());
  }
  const incidents = rowsOf(answer, 'incidents');
  if (incidents.length === 0) return 'no incidents\n';
  return formatTable(
    [
      'ID',
      'STATE',
      'SEVERITY',
      'HOST',
      'INSTANCES',
      'FIRST SEEN (UTC)',
      'LAST SEEN (UTC)',
      'ATTEMPTS',
      'LOGINS',
      'NAMES',
    ],
    incidents.map((i) => {
      const label = host(i);
      const names = Array.isArray(i['names']) ? i['names'].filter((n): n is string => typeof n === 'string') : [];
      const instances = Array.isArray(i['instances']) ? i['instances'].map((n) => terminalText(String(n))) : [];
      return [
        text(i, 'id'),
        text(i, 'state'),
        text(i, 'severity'),
        label === '' ? text(i, 'clientIp') : `${text(i, 'clientIp')} (${label})`,
        instances.join(',') || '-',
        time(i, 'firstSeen'),
        time(i, 'lastSeen'),
        text(i, 'attempts'),
        text(i, 'logins'),
        names.length === 0 ? '-' : `${names.length}: ${names.slice(0, 3).map(presentName).join(', ')}`,
      ];
    }),
  );
}

/** A time Date can show (shortTime): ms since the epoch, within the ECMAScript range. */
function isTimeMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 8.64e15;
}

function stringOrNull(row: Row, key: string): string | null {
  const value = row[key];
  return typeof value === 'string' ? value : null;
}

/** A login row of /fleet/miner-logins as the local table's row (absent fields: empty, never trusted). */
function loginRowOf(row: Row): LoginRow {
  const algorithms = row['algorithms'];
  return {
    timeMs: isTimeMs(row['timeMs']) ? row['timeMs'] : 0,
    clientIp: stringOrNull(row, 'clientIp') ?? '-',
    identity: identityOf(row['identity']) ?? null,
    port: typeof row['port'] === 'number' ? row['port'] : 0,
    tls: row['tls'] === true,
    protocol: stringOrNull(row, 'protocol') ?? '-',
    wallet: stringOrNull(row, 'wallet') ?? '',
    worker: stringOrNull(row, 'worker'),
    password: stringOrNull(row, 'password'),
    agent: stringOrNull(row, 'agent'),
    algorithms: Array.isArray(algorithms) ? algorithms.map(String) : [],
  };
}

export interface FleetLoginsOptions {
  readonly filters: Readonly<Record<string, string | undefined>>;
  readonly limit: number;
}

/** The honeypot logins of every instance: the local `logins` table with an INSTANCE column, escaped the same way. */
export async function fleetLoginsReport(config: Config, options: FleetLoginsOptions): Promise<string> {
  const answer = await call(
    config,
    'GET',
    `/api/v1/fleet/miner-logins${query({ ...options.filters, limit: String(options.limit) })}`,
  );
  const logins = rowsOf(answer, 'logins');
  if (logins.length === 0) return `${note(answer)}no miner logins\n`;
  const [timeColumn, ...columns] = LOGIN_COLUMNS;
  return (
    note(answer) +
    formatTable(
      [timeColumn, 'INSTANCE', ...columns],
      logins.map((row) => {
        const [timeCell = '-', ...cells] = loginCells(loginRowOf(row));
        return [timeCell, text(row, 'instance'), ...cells];
      }),
    )
  );
}
