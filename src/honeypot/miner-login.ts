/** A miner login as the honeypot caught it: what crosses to the writer thread and is stored. */
import type { StratumLogin } from './stratum-session.js';

export interface MinerLogin extends StratumLogin {
  readonly timeMs: number;
  readonly clientIp: string;
  readonly clientPort: number;
  /** The honeypot port the miner connected to. */
  readonly port: number;
  readonly tls: boolean;
}
