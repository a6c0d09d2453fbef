/**
 * The honeypot as main.ts starts it: nothing when no address is configured; otherwise the
 * certificate (for TLS listeners), the listeners, and a warning when the DNS answers do not send
 * miners here (block.response is not sinkhole).
 */
import type { Logger } from 'pino';
import type { BlockConfig, HoneypotConfig } from '../config/types.js';
import { formatHostPort } from '../net/address.js';
import { loadOrCreateCertificate } from './certificate-store.js';
import { startHoneypotServer, type HoneypotServer } from './honeypot-server.js';
import type { MinerLogin } from './miner-login.js';

export interface StartHoneypotOptions {
  readonly honeypot: HoneypotConfig;
  readonly block: BlockConfig;
  readonly dataDir: string;
  readonly log: Logger;
  readonly onLogin: (login: MinerLogin) => void;
  readonly clock?: () => number;
}

/** Undefined when the honeypot is off (no listen or tlsListen address). */
export async function startHoneypot(options: StartHoneypotOptions): Promise<HoneypotServer | undefined> {
  const { honeypot, block } = options;
  if (honeypot.listen.length === 0 && honeypot.tlsListen.length === 0) return undefined;
  const log = options.log.child({ component: 'honeypot' });
  if (block.response !== 'sinkhole') {
    log.warn(
      { blockResponse: block.response },
      'honeypot listening, but block.response is not sinkhole: blocked names do not lead miners to it',
    );
  }
  const server = await startHoneypotServer({
    listen: honeypot.listen,
    tlsListen: honeypot.tlsListen,
    ...(honeypot.tlsListen.length > 0 ? { tls: loadOrCreateCertificate(options.dataDir, log) } : {}),
    limits: honeypot,
    onLogin: options.onLogin,
    log,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  log.info(
    { listen: server.plain.map(formatHostPort), tlsListen: server.tls.map(formatHostPort) },
    'stratum honeypot listening',
  );
  return server;
}
