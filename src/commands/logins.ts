/**
 * `poolsink logins`: the stratum honeypot's miner logins as a table, newest first, read from the
 * database (--client IP|CIDR, --wallet, --since, --until, --limit). Every field but the port and
 * time comes from a hostile client: each is escaped for the terminal (net/presentation.ts) and cut
 * to fit.
 */
import { InvalidParameterError } from '../admin/http-errors.js';
import { parseClientFilter, parseTime } from '../admin/params.js';
import { PoolsinkError } from '../errors.js';
import type { MinerLoginFilter } from '../honeypot/miner-login-queries.js';
import { MAX_FIELD_CHARS } from '../honeypot/stratum-session.js';
import type { HostIdentity } from '../inventory/host-identity.js';
import { identityLabel } from '../inventory/identity-label.js';
import { terminalText } from '../net/presentation.js';
import type { EventQueries } from '../store/types.js';
import { fitCell, formatTable, shortTime } from './table.js';

export const LOGIN_FILTER_OPTIONS = ['client', 'wallet', 'since', 'until'] as const;

export interface LoginsOptions {
  readonly filters: Partial<Record<(typeof LOGIN_FILTER_OPTIONS)[number], string>>;
  readonly limit: number;
}

/** Client text for one table cell: escaped, then cut. */
export function loginCell(text: string | null, max: number): string {
  return text === null ? '-' : fitCell(terminalText(text), max);
}

/** What one table row shows: a login from the database, or one the fleet API returned. */
export interface LoginRow {
  readonly timeMs: number;
  readonly clientIp: string;
  readonly identity?: HostIdentity | null;
  readonly port: number;
  readonly tls: boolean;
  readonly protocol: string;
  readonly wallet: string;
  readonly worker: string | null;
  readonly password: string | null;
  readonly agent: string | null;
  readonly algorithms: readonly string[];
}

export const LOGIN_COLUMNS = [
  'TIME (UTC)',
  'CLIENT',
  'HOST',
  'PORT',
  'PROTOCOL',
  'WALLET',
  'WORKER',
  'PASSWORD',
  'AGENT',
  'ALGORITHMS',
] as const;

/** A login's cells under LOGIN_COLUMNS, every client-sent string escaped for the terminal and cut. */
export function loginCells(l: LoginRow): string[] {
  return [
    shortTime(l.timeMs),
    terminalText(l.clientIp),
    terminalText(identityLabel(l.identity ?? undefined, 40)),
    `${l.port}${l.tls ? '/tls' : ''}`,
    terminalText(l.protocol),
    loginCell(l.wallet, 48),
    loginCell(l.worker, 24),
    loginCell(l.password, 16),
    loginCell(l.agent, 40),
    loginCell(l.algorithms.join(','), 40),
  ];
}

export function loginsTable(logins: readonly LoginRow[]): string {
  if (logins.length === 0) return 'no miner logins\n';
  return formatTable(LOGIN_COLUMNS, logins.map(loginCells));
}

function filterOf(options: LoginsOptions, nowMs: number): MinerLoginFilter {
  const { client, wallet, since, until } = options.filters;
  const parsed = client === undefined ? undefined : parseClientFilter('client', client);
  if (wallet !== undefined && (wallet === '' || wallet.length > MAX_FIELD_CHARS))
    throw new InvalidParameterError('wallet', `must be 1 to ${MAX_FIELD_CHARS} characters`);
  return {
    ...(parsed?.kind === 'address' ? { client: parsed.ip } : {}),
    ...(parsed?.kind === 'network' ? { network: parsed.cidr } : {}),
    ...(wallet !== undefined ? { wallet } : {}),
    ...(since !== undefined ? { sinceMs: parseTime('since', since, nowMs) } : {}),
    ...(until !== undefined ? { untilMs: parseTime('until', until, nowMs) } : {}),
  };
}

export function loginsReport(queries: EventQueries, options: LoginsOptions, nowMs: number): string {
  let filter: MinerLoginFilter;
  try {
    filter = filterOf(options, nowMs);
  } catch (err: unknown) {
    if (err instanceof InvalidParameterError) throw new PoolsinkError('ERR_USAGE', `--${err.message}`, { cause: err });
    throw err;
  }
  return loginsTable(queries.minerLogins(filter, options.limit).logins);
}
