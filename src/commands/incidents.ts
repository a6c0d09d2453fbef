/**
 * `poolsink incidents [--state S] [--since 7d]` and `poolsink incident ID` read the database the
 * server writes (WAL allows it beside the writer); `poolsink incident ID acknowledge|resolve --note
 * TEXT` goes through the running server's admin API, whose writer thread applies it. Names are
 * shown in DNS presentation format, notes and identities with their control characters escaped
 * (net/presentation.ts).
 */
import { clientFields, parseClientFilter, parseTime } from '../admin/params.js';
import type { Config } from '../config/types.js';
import { PoolsinkError } from '../errors.js';
import type { IncidentSummary } from '../incidents/incident-queries.js';
import { INCIDENT_STATES, isIncidentState } from '../incidents/incident-state.js';
import { INCIDENT_MAX_LOGINS, type StoredMinerLogin } from '../honeypot/miner-login-queries.js';
import type { EventQueries } from '../store/types.js';
import { presentName, terminalText } from '../net/presentation.js';
import { call } from './lists.js';
import { loginCell } from './logins.js';
import { formatTable, shortTime } from './table.js';

function hostOf(incident: IncidentSummary): string {
  const name = incident.identity?.name;
  return name === undefined ? incident.clientIp : `${incident.clientIp} (${terminalText(name)})`;
}

export interface IncidentsOptions {
  state?: string;
  since?: string;
  client?: string;
  limit: number;
}

export async function incidentsReport(
  queries: EventQueries,
  options: IncidentsOptions,
  nowMs: number,
): Promise<string> {
  const { state } = options;
  if (state !== undefined && !isIncidentState(state))
    throw new PoolsinkError(
      'ERR_USAGE',
      `--state must be one of ${INCIDENT_STATES.join(', ')} (got ${terminalText(state)})`,
    );
  const sinceMs = options.since === undefined ? undefined : parseTime('--since', options.since, nowMs);
  const client = options.client === undefined ? undefined : parseClientFilter('--client', options.client);
  const page = queries.incidents(
    {
      ...(state !== undefined ? { state } : {}),
      ...(sinceMs !== undefined ? { sinceMs } : {}),
      ...(await clientFields('--client', client, queries)),
    },
    options.limit,
  );
  if (page.incidents.length === 0) return 'no incidents\n';
  return formatTable(
    ['ID', 'STATE', 'SEVERITY', 'HOST', 'FIRST SEEN (UTC)', 'LAST SEEN (UTC)', 'ATTEMPTS', 'NAMES', 'PREVIOUS'],
    page.incidents.map((i) => [
      String(i.id),
      i.state,
      i.severity,
      hostOf(i),
      shortTime(i.firstSeenMs),
      shortTime(i.lastSeenMs),
      String(i.attempts),
      String(i.distinctNames),
      i.previousId === null ? '-' : String(i.previousId),
    ]),
  );
}

export function parseIncidentId(text: string | undefined): number {
  const id = Number(text);
  if (text === undefined || !/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(id))
    throw new PoolsinkError('ERR_USAGE', `incident needs an id (a positive integer)`);
  return id;
}

export function incidentReport(queries: EventQueries, id: number): string {
  const detail = queries.incident(id, 10);
  if (detail === undefined) throw new PoolsinkError('ERR_NOT_FOUND', `no incident ${id}`);
  const i = detail.summary;
  const identity = i.identity === null ? '-' : terminalText(JSON.stringify(i.identity));
  const lines = [
    `incident ${i.id}: ${i.state}, severity ${i.severity}${i.retro ? ' (retro: found in the query history)' : ''}`,
    `host:       ${hostOf(i)}`,
    `identity:   ${identity}`,
    `seen:       ${shortTime(i.firstSeenMs)} .. ${shortTime(i.lastSeenMs)} UTC`,
    `attempts:   ${i.attempts} (${i.distinctNames} names; lists ${i.lists.map(terminalText).join(', ') || '-'})`,
    `escalation: level ${i.escalationLevel}`,
    `previous:   ${i.previousId === null ? '-' : String(i.previousId)}`,
    '',
    formatTable(
      ['NAME', 'LIST', 'COUNT', 'LAST SEEN (UTC)'],
      detail.names.map((n) => [presentName(n.qname), terminalText(n.list), String(n.count), shortTime(n.lastMs)]),
    ),
    formatTable(
      ['TIME (UTC)', 'CHANGE', 'STATE', 'BY', 'NOTE'],
      detail.history.map((h) => [
        shortTime(h.timeMs),
        h.change,
        h.state,
        terminalText(h.actor),
        h.note === null ? '' : terminalText(h.note),
      ]),
    ),
    ...minerLoginLines(detail.minerLogins),
  ];
  return `${lines.join('\n')}`;
}

/** The honeypot logins that joined the incident (latest first); every client-sent field escaped. */
function minerLoginLines(logins: readonly StoredMinerLogin[]): string[] {
  if (logins.length === 0) return [];
  return [
    `miner logins (${logins.length}${logins.length === INCIDENT_MAX_LOGINS ? ', the latest' : ''}):`,
    formatTable(
      ['TIME (UTC)', 'CLIENT PORT', 'PORT', 'TLS', 'PROTOCOL', 'WALLET', 'WORKER', 'AGENT'],
      logins.map((l) => [
        shortTime(l.timeMs),
        String(l.clientPort),
        String(l.port),
        l.tls ? 'yes' : 'no',
        l.protocol,
        loginCell(l.wallet, 100), // a Monero address is 95 characters: shown whole here
        loginCell(l.worker, 24),
        loginCell(l.agent, 40),
      ]),
    ),
  ];
}

export async function changeIncident(
  config: Config,
  id: number,
  action: 'acknowledge' | 'resolve',
  note: string,
): Promise<string> {
  const body = await call(config, 'POST', `/api/v1/incidents/${id}/${action}`, { note });
  return `incident ${id}: ${terminalText(String(body['state']))}\n`;
}
