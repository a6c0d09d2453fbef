/**
 * What the DNS thread and the writer thread say about the query history (retro-hunt): batches of
 * new (client, name, hour) keys from the recorder (history-recorder.ts), and retro-hunt requests
 * and their findings. Types only, shared by the recorder, the writer (query-history.ts,
 * history-worker.ts), the admin route and the CLI.
 */
import type { HostIdentity } from '../inventory/host-identity.js';

/**
 * Keys of one hour, as parallel arrays (one structured clone per batch, no object per row).
 * `counts[i]` adds to the row's count; `firstMs[i]` lowers its first time (never raises it).
 */
export interface HistoryBatch {
  readonly hourMs: number;
  readonly clientIps: readonly string[];
  readonly qnames: readonly string[];
  readonly firstMs: readonly number[];
  readonly counts: readonly number[];
}

export interface RetroHuntRequest {
  /** Listed names: each matches itself and its subdomains. Lower-case, no trailing dot. */
  readonly names: readonly string[];
  /** Only history from this time on (ms); default: everything kept. */
  readonly sinceMs?: number;
  /** Open or join an incident (marked retro) for each client found, and notify. */
  readonly record: boolean;
  /** The list the names came from (incident names say it); on-demand hunts: "retro-hunt". */
  readonly list: string;
}

/** One name a client resolved, as the history holds it. */
export interface RetroName {
  readonly qname: string;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly count: number;
}

export interface RetroClient {
  readonly clientIp: string;
  readonly identity?: HostIdentity;
  readonly names: readonly RetroName[];
  readonly firstMs: number;
  readonly lastMs: number;
  readonly count: number;
}

export interface RetroHuntResult {
  readonly clients: readonly RetroClient[];
  /** History rows read; `truncated` when the scan stopped at its cap. */
  readonly rowsRead: number;
  readonly truncated: boolean;
  /** Incidents opened or joined (record: true). */
  readonly incidents: number;
}

/** The list name incidents of on-demand hunts carry. */
export const ON_DEMAND_LIST = 'retro-hunt';
