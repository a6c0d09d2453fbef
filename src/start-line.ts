/**
 * The one `info` line at start: what listens, where queries go, and (in the message itself, for
 * `docker logs` readers) how many names are blocked from which lists. Tests match its prefix.
 */
import type { Logger } from 'pino';
import { loadedFromLabel, startMessage } from './blocklist/list-summary.js';
import type { ListInfo } from './blocklist/list-api.js';
import type { Config } from './config/types.js';
import { formatHostPort, type HostPort } from './net/address.js';

export interface StartLineFacts {
  readonly config: Config;
  readonly udp: readonly HostPort[];
  readonly admin: HostPort;
  readonly lists: readonly ListInfo[];
  /** Names blocked (owned by block lists). */
  readonly blockedDomains: number;
  /** Names only alerted on (owned by alert lists). */
  readonly alertDomains: number;
  readonly allowlist: number;
}

export function logStartLine(log: Logger, facts: StartLineFacts): void {
  const { config, lists } = facts;
  log.info(
    {
      listen: facts.udp.map(formatHostPort),
      upstreams: config.upstreams.map(formatHostPort),
      lists: lists.map((list) => ({
        name: list.name,
        source: list.source,
        entries: list.entries,
        skipped: list.skipped,
        loadedFrom: loadedFromLabel(list),
        error: list.lastError,
      })),
      blockedDomains: facts.blockedDomains,
      alertDomains: facts.alertDomains,
      allowlist: facts.allowlist,
      blockResponse: config.block.response,
      admin: formatHostPort(facts.admin),
      database: config.database.path,
    },
    startMessage(lists, facts.blockedDomains, facts.alertDomains),
  );
}
