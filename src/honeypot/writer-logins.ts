/**
 * Miner logins as the writer thread records them: one row in miner_logins (schema v6) and, when
 * incidents are kept, the escalation of the host's incident to critical (incident.escalated in the
 * outbox), in one transaction. Rows older than retentionDays go as each login is written.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { IncidentTracker } from '../incidents/incident-tracker.js';
import type { IdentityLookup } from '../inventory/host-identity.js';
import { preparedFor, type SqliteDatabase, type StoreConnection } from '../store/database.js';
import type { MinerLogin } from './miner-login.js';

const DAY_MS = 86_400_000;

export interface WriterLoginsOptions {
  readonly connection: StoreConnection;
  readonly log: Logger;
  readonly retentionDays: number;
  readonly tracker?: IncidentTracker | undefined;
  readonly identityFor?: IdentityLookup;
}

export interface WriterLogins {
  record(login: MinerLogin): void;
}

function prepare(db: SqliteDatabase) {
  return {
    insert: db.prepare<
      [
        number,
        string,
        number,
        number,
        number,
        string,
        string,
        string,
        string | null,
        string | null,
        string | null,
        string,
        string | null,
        number | null,
      ]
    >(
      `INSERT INTO miner_logins (time_ms, client_ip, client_port, port, tls, protocol, login, wallet, worker, password,
         agent, algorithms_json, identity_json, incident_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    prune: db.prepare<[number]>('DELETE FROM miner_logins WHERE time_ms < ?'),
  };
}

/** The reason an escalation gives: only values of ours, none of the client's text. */
export function loginReason(login: { readonly port: number; readonly tls: boolean; readonly flavour: string }): string {
  return `miner login at the honeypot (port ${login.port}${login.tls ? ', TLS' : ''}, ${login.flavour} stratum)`;
}

export function createWriterLogins(options: WriterLoginsOptions): WriterLogins {
  const { connection, log, tracker } = options;
  const statements = preparedFor(connection, prepare);
  return {
    record(login) {
      const identity = options.identityFor?.(login.clientIp);
      try {
        connection.db
          .transaction(() => {
            const incidentId = tracker?.escalate(login.clientIp, login.timeMs, loginReason(login)) ?? null;
            const s = statements();
            s.insert.run(
              login.timeMs,
              login.clientIp,
              login.clientPort,
              login.port,
              login.tls ? 1 : 0,
              login.flavour,
              login.login,
              login.wallet,
              login.worker,
              login.password,
              login.agent,
              JSON.stringify(login.algorithms),
              identity === undefined ? null : JSON.stringify(identity),
              incidentId,
            );
            s.prune.run(login.timeMs - options.retentionDays * DAY_MS);
          })
          .immediate();
        log.warn(
          { clientIp: login.clientIp, port: login.port, tls: login.tls, protocol: login.flavour },
          'miner login caught by the honeypot',
        );
      } catch (err: unknown) {
        tracker?.rolledBack();
        log.error({ err: errorMessage(err), clientIp: login.clientIp }, 'recording a miner login failed');
      }
    },
  };
}
