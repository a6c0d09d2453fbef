/**
 * The query history's SQL (table query_history, migration 7: query-history-schema.ts), run by the
 * writer thread: batches from the DNS thread's recorder upserted in one transaction, the retro-hunt
 * search (each name an index range of reversed names, so a listed name matches its subdomains), and
 * pruning by age and by row count, called from the retention pass (retention.ts).
 */
import { preparedFor, type SqliteDatabase, type StoreConnection } from './database.js';
import type { HistoryBatch, RetroClient, RetroName } from './history-protocol.js';
import { domainRange, reverseName } from './reversed-names.js';
import { HOUR_MS } from './schema.js';

const DAY_MS = 86_400_000;
/** History rows one hunt reads at most (all names together). */
export const MAX_HUNT_ROWS = 100_000;
/** Names kept per client in a hunt's answer (the most queried first). */
export const MAX_NAMES_PER_CLIENT = 50;

export interface HistorySearch {
  readonly clients: RetroClient[];
  readonly rowsRead: number;
  readonly truncated: boolean;
}

export interface HistoryPruneOptions {
  readonly retainDays: number;
  readonly maxRows: number;
  /** Rows per DELETE. */
  readonly batchSize: number;
}

export interface QueryHistory {
  /** Upserts one batch in a transaction of its own. */
  write(batch: HistoryBatch): void;
  /** The clients that resolved any of `names` (or their subdomains) since sinceMs. */
  search(names: readonly string[], sinceMs: number, maxRows?: number): HistorySearch;
  /** One batch of pruning (age first, then count); returns rows deleted (0: nothing left to prune). */
  pruneStep(nowMs: number, options: HistoryPruneOptions): number;
  /** Rows held. */
  count(): number;
}

interface HistoryRow {
  client_ip: string;
  qname: string;
  hour_ms: number;
  first_ms: number;
  count: number;
}

function prepare(db: SqliteDatabase) {
  return {
    upsert: db.prepare<[string, string, string, number, number, number]>(
      `INSERT INTO query_history (client_ip, rname, qname, hour_ms, first_ms, count) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (client_ip, rname, hour_ms) DO UPDATE SET count = count + excluded.count,
         first_ms = min(first_ms, excluded.first_ms)`,
    ),
    range: db.prepare<[string, string, number, number], HistoryRow>(
      `SELECT client_ip, qname, hour_ms, first_ms, count FROM query_history INDEXED BY query_history_rname
       WHERE rname >= ? AND rname < ? AND hour_ms >= ? LIMIT ?`,
    ),
    deleteOld: db.prepare<[number, number]>(
      `DELETE FROM query_history WHERE id IN
         (SELECT id FROM query_history INDEXED BY query_history_hour WHERE hour_ms < ? LIMIT ?)`,
    ),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM query_history'),
    deleteOldest: db.prepare<[number]>(
      `DELETE FROM query_history WHERE id IN
         (SELECT id FROM query_history INDEXED BY query_history_hour ORDER BY hour_ms LIMIT ?)`,
    ),
  };
}

interface ClientFinding {
  readonly clientIp: string;
  readonly names: Map<string, { firstMs: number; lastMs: number; count: number }>;
  firstMs: number;
  lastMs: number;
  count: number;
}

function clientsOf(byClient: Map<string, ClientFinding>): RetroClient[] {
  return [...byClient.values()]
    .map((finding): RetroClient => {
      const names: RetroName[] = [...finding.names]
        .map(([qname, n]) => ({ qname, ...n }))
        .sort((a, b) => b.count - a.count || (a.qname < b.qname ? -1 : 1))
        .slice(0, MAX_NAMES_PER_CLIENT);
      return {
        clientIp: finding.clientIp,
        names,
        firstMs: finding.firstMs,
        lastMs: finding.lastMs,
        count: finding.count,
      };
    })
    .sort((a, b) => a.firstMs - b.firstMs || (a.clientIp < b.clientIp ? -1 : 1));
}

export function createQueryHistory(connection: StoreConnection): QueryHistory {
  const statements = preparedFor(connection, prepare);

  return {
    write(batch) {
      const s = statements();
      const { hourMs, clientIps, qnames, firstMs, counts } = batch;
      connection.db
        .transaction(() => {
          for (let i = 0; i < clientIps.length; i += 1) {
            const clientIp = clientIps[i];
            const qname = qnames[i];
            if (clientIp === undefined || qname === undefined) continue;
            s.upsert.run(clientIp, reverseName(qname), qname, hourMs, firstMs[i] ?? hourMs, counts[i] ?? 1);
          }
        })
        .immediate();
    },
    search(names, sinceMs, maxRows = MAX_HUNT_ROWS) {
      const s = statements();
      const sinceHour = Math.floor(sinceMs / HOUR_MS) * HOUR_MS;
      const byClient = new Map<string, ClientFinding>();
      let rowsRead = 0;
      let truncated = false;
      for (const name of names) {
        const range = domainRange(name);
        if (range === undefined) continue; // the root would be every name: never a hunt
        const left = maxRows - rowsRead;
        if (left <= 0) {
          truncated = true;
          break;
        }
        const rows = s.range.all(range.low, range.high, sinceHour, left);
        rowsRead += rows.length;
        if (rows.length >= left) truncated = true;
        for (const row of rows) {
          // A row's last query is unknown: its hour's first query stands for it (the hour's end would invent one).
          const rowFirst = Math.max(row.first_ms, sinceMs);
          let finding = byClient.get(row.client_ip);
          if (finding === undefined) {
            finding = { clientIp: row.client_ip, names: new Map(), firstMs: rowFirst, lastMs: rowFirst, count: 0 };
            byClient.set(row.client_ip, finding);
          }
          finding.firstMs = Math.min(finding.firstMs, rowFirst);
          finding.lastMs = Math.max(finding.lastMs, rowFirst);
          finding.count += row.count;
          const name = finding.names.get(row.qname);
          if (name === undefined)
            finding.names.set(row.qname, { firstMs: rowFirst, lastMs: rowFirst, count: row.count });
          else {
            name.firstMs = Math.min(name.firstMs, rowFirst);
            name.lastMs = Math.max(name.lastMs, rowFirst);
            name.count += row.count;
          }
        }
      }
      return { clients: clientsOf(byClient), rowsRead, truncated };
    },
    pruneStep(nowMs, options) {
      const s = statements();
      const cutoffHour = Math.floor((nowMs - options.retainDays * DAY_MS) / HOUR_MS) * HOUR_MS;
      const byAge = s.deleteOld.run(cutoffHour, options.batchSize).changes;
      if (byAge > 0) return byAge;
      const excess = (s.count.get()?.n ?? 0) - options.maxRows;
      if (excess <= 0) return 0;
      return s.deleteOldest.run(Math.min(excess, options.batchSize)).changes;
    },
    count() {
      return statements().count.get()?.n ?? 0;
    },
  };
}
