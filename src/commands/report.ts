/**
 * `poolsink hosts` and `poolsink events`: the block log as tables, read from the same database the
 * server writes (safe while it runs: SQLite WAL allows readers beside the writer). Names come from
 * hostile clients: they are shown in DNS presentation format (net/presentation.ts).
 */
import { parseTime } from '../admin/params.js';
import type { EventQueries, StoredEvent } from '../store/types.js';
import { formatTable, shortTime } from './table.js';
import { identityLabel } from '../inventory/identity-label.js';
import { presentName, terminalText } from '../net/presentation.js';
import { qtypeName } from '../wire/type-names.js';

export interface HostsOptions {
  since?: string;
  limit: number;
}

export function hostsReport(queries: EventQueries, options: HostsOptions, nowMs: number): string {
  const sinceMs = options.since === undefined ? undefined : parseTime('--since', options.since, nowMs);
  const hosts = queries.hosts(sinceMs, options.limit);
  if (hosts.length === 0)
    return (
      'no host has tried to resolve a blocked name' +
      (options.since === undefined ? '' : ` since ${options.since}`) +
      '\n'
    );
  return formatTable(
    ['CLIENT', 'HOST', 'FIRST SEEN (UTC)', 'LAST SEEN (UTC)', 'BLOCKED', 'DOMAINS', 'TOP DOMAINS'],
    hosts.map((h) => [
      h.clientIp,
      terminalText(identityLabel(h.identity)),
      shortTime(h.firstSeenMs),
      shortTime(h.lastSeenMs),
      String(h.blockedCount),
      String(h.distinctDomains),
      h.topDomains.map((d) => `${presentName(d.domain)} (${d.count})`).join(', '),
    ]),
  );
}

/** Events as a table, newest first. */
export function eventsTable(events: readonly StoredEvent[]): string {
  if (events.length === 0) return 'no events\n';
  return formatTable(
    ['TIME (UTC)', 'CLIENT', 'HOST', 'PROTO', 'QNAME', 'QTYPE', 'LIST', 'RULE', 'ACTION', 'COUNT'],
    events.map((e) => [
      shortTime(e.timeMs),
      e.clientIp,
      terminalText(identityLabel(e.identity, 40)),
      e.protocol,
      e.via === null ? presentName(e.qname) : `${presentName(e.qname)} (via ${presentName(e.via)})`,
      qtypeName(e.qtype),
      terminalText(e.list),
      presentName(e.rule),
      e.action,
      String(e.count),
    ]),
  );
}
