/**
 * Retention: deletes events older than retentionDays, then the oldest beyond maxEvents, then rollup
 * rows (hourly counts, outcome minutes and hours) older than retentionDays. Every DELETE is a small batch in
 * its own transaction and the pruner yields to the event loop (setImmediate) between batches, so
 * DNS answers and batched writes go on while a large backlog is pruned.
 *
 * maxEvents is enforced on ids: events keep ids (max id - maxEvents, max id], which holds at most
 * maxEvents rows (ids are assigned in increasing order; gaps only make it fewer).
 *
 * Summaries (SECURITY.md, log flooding): hosts rows are kept (one per client address); once an hour
 * host_domains and domains rows last seen before the retention cutoff are deleted (a host's
 * distinct_domains drops with its names), and every pass deletes the least recently seen domains
 * rows beyond maxDomains. The batch writer caps names per host (OTHER_NAMES).
 *
 * outcome_minutes and outcome_hours are deleted below the same hour (the one holding the cutoff),
 * so each outcome_hours row stays the sum of its minutes (outcome-sums.ts reads both).
 *
 * Day rollups (day-rollups-schema.ts): before hours are deleted below the cutoff hour,
 * day_rollups.kept_from_ms moves to the first midnight at or after it, so /stats reads hours for
 * the day holding the cutoff; host_days and domain_days rows below it are deleted with the keys'
 * hours. Each pass then compacts the complete days not compacted yet (day-rollups.ts), a day per turn.
 */
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import { preparedFor, type SqliteDatabase, type StoreConnection } from './database.js';
import { compactNextDay, prepareDayCompaction } from './day-rollups.js';
import { OTHER_NAMES } from './rollup-writes.js';
import { HOUR_MS, hourOf } from './schema.js';

export interface PrunerOptions {
  readonly connection: StoreConnection;
  readonly log: Logger;
  readonly retentionDays: number;
  readonly maxEvents: number;
  /** domains rows kept at most (least recently seen deleted first). Default MAX_DOMAINS. */
  readonly maxDomains?: number;
  /** Rows per DELETE. Default 2000 (a few ms per batch on a 10M-event log). */
  readonly batchSize?: number;
  /** How often start() prunes. Default 60,000. */
  readonly intervalMs?: number;
  readonly clock?: () => number;
  /** One batch of another table's pruning (the query history: query-history.ts); 0 when nothing is left. */
  readonly alsoPrune?: (nowMs: number) => number;
}

export interface PruneResult {
  readonly eventsByAge: number;
  readonly eventsByCount: number;
  readonly rollupRows: number;
  /** host_domains and domains rows deleted (retention, domains cap). */
  readonly summaryRows: number;
  /** Rows of alsoPrune (the query history). */
  readonly otherRows?: number;
}

export interface Pruner {
  /** Prunes now and every intervalMs (the timer does not keep the process alive). */
  start(): void;
  /** Stops the timer; resolves when a run in progress has stopped at its next batch. */
  stop(): Promise<void>;
  /** One full pruning pass (or the one already running). Rejects with ERR_STORE_WRITE. */
  runOnce(): Promise<PruneResult>;
}

const DAY_MS = 86_400_000;
/** Default cap on domains rows (per-name totals): about 100 bytes each, so tens of MB at most. */
export const MAX_DOMAINS = 200_000;
const KEYS_PER_STEP = 200;

function checkPositive(name: string, value: number, integer: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new PoolsinkError(
      'ERR_CONFIG_INVALID',
      `pruner: ${name} must be a positive ${integer ? 'integer' : 'number'} (got ${value})`,
    );
  }
  return value;
}

function prepareStatements(db: SqliteDatabase) {
  return {
    deleteOldEvents: db.prepare<[number, number]>(
      `DELETE FROM events WHERE id IN
         (SELECT id FROM events INDEXED BY events_time WHERE time_ms < ? ORDER BY time_ms LIMIT ?)`,
    ),
    idBounds: db.prepare<[], { low: number | null; high: number | null }>(
      'SELECT min(id) AS low, max(id) AS high FROM events',
    ),
    deleteIdRange: db.prepare<[number, number]>('DELETE FROM events WHERE id >= ? AND id < ?'),
    // host_hours and domain_hours are keyed (key, hour): their old rows are deleted key by key, for
    // the keys seen since the last pass (a key last seen before it had all its rows deleted then).
    hostsSeenSince: db.prepare<[number, number, string, number], { key: string; lastMs: number }>(
      `SELECT client_ip AS key, last_seen_ms AS lastMs FROM hosts INDEXED BY hosts_last_seen
       WHERE last_seen_ms >= ? AND (last_seen_ms, client_ip) > (?, ?) ORDER BY last_seen_ms, client_ip LIMIT ?`,
    ),
    domainsSeenSince: db.prepare<[number, number, string, number], { key: string; lastMs: number }>(
      `SELECT qname AS key, last_seen_ms AS lastMs FROM domains INDEXED BY domains_last_seen
       WHERE last_seen_ms >= ? AND (last_seen_ms, qname) > (?, ?) ORDER BY last_seen_ms, qname LIMIT ?`,
    ),
    deleteHostHours: db.prepare<[string, number]>('DELETE FROM host_hours WHERE client_ip = ? AND hour_ms < ?'),
    deleteDomainHours: db.prepare<[string, number]>('DELETE FROM domain_hours WHERE qname = ? AND hour_ms < ?'),
    keepDaysFrom: db.prepare<[number]>('UPDATE day_rollups SET kept_from_ms = max(kept_from_ms, ?)'),
    deleteHostDays: db.prepare<[string, number]>('DELETE FROM host_days WHERE client_ip = ? AND day_ms < ?'),
    deleteDomainDays: db.prepare<[string, number]>('DELETE FROM domain_days WHERE qname = ? AND day_ms < ?'),
    hostNamesAfter: db.prepare<[string, string, number], { clientIp: string; qname: string; lastMs: number }>(
      `SELECT client_ip AS clientIp, qname, last_seen_ms AS lastMs FROM host_domains
       WHERE (client_ip, qname) > (?, ?) ORDER BY client_ip, qname LIMIT ?`,
    ),
    deleteHostName: db.prepare<[string, string]>('DELETE FROM host_domains WHERE client_ip = ? AND qname = ?'),
    forgetHostNames: db.prepare<[number, string]>(
      'UPDATE hosts SET distinct_domains = max(0, distinct_domains - ?) WHERE client_ip = ?',
    ),
    domainsSeenBefore: db.prepare<[number, number], { qname: string }>(
      `SELECT qname FROM domains INDEXED BY domains_last_seen WHERE last_seen_ms < ? ORDER BY last_seen_ms LIMIT ?`,
    ),
    leastRecentDomains: db.prepare<[number], { qname: string }>(
      'SELECT qname FROM domains INDEXED BY domains_last_seen ORDER BY last_seen_ms LIMIT ?',
    ),
    domainCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM domains'),
    deleteDomain: db.prepare<[string]>('DELETE FROM domains WHERE qname = ?'),
    deleteAllDomainHours: db.prepare<[string]>('DELETE FROM domain_hours WHERE qname = ?'),
    deleteAllDomainDays: db.prepare<[string]>('DELETE FROM domain_days WHERE qname = ?'),
    oldestListHour: db.prepare<[], { hour: number | null }>('SELECT min(hour_ms) AS hour FROM list_hours'),
    deleteListHour: db.prepare<[number]>('DELETE FROM list_hours WHERE hour_ms = ?'),
    oldestMinute: db.prepare<[], { minute: number | null }>('SELECT min(minute_ms) AS minute FROM outcome_minutes'),
    deleteMinutes: db.prepare<[number, number]>('DELETE FROM outcome_minutes WHERE minute_ms >= ? AND minute_ms < ?'),
    oldestOutcomeHour: db.prepare<[], { hour: number | null }>('SELECT min(hour_ms) AS hour FROM outcome_hours'),
    deleteOutcomeHours: db.prepare<[number, number]>('DELETE FROM outcome_hours WHERE hour_ms >= ? AND hour_ms < ?'),
  };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function createPruner(options: PrunerOptions): Pruner {
  const { connection, log } = options;
  const retentionMs = checkPositive('retentionDays', options.retentionDays, false) * DAY_MS;
  const maxEvents = checkPositive('maxEvents', options.maxEvents, true);
  const batchSize = checkPositive('batchSize', options.batchSize ?? 2000, true);
  const intervalMs = checkPositive('intervalMs', options.intervalMs ?? 60_000, true);
  const maxDomains = checkPositive('maxDomains', options.maxDomains ?? MAX_DOMAINS, true);
  const clock = options.clock ?? Date.now;
  const statements = preparedFor(connection, prepareStatements);
  const dayStatements = preparedFor(connection, prepareDayCompaction);

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PruneResult> | undefined;
  let stopping = false;
  /** Hourly rollup rows below this hour are gone for every key (none pruned yet: every key). */
  let prunedHoursBelow = Number.MIN_SAFE_INTEGER;

  async function pruneByAge(cutoffMs: number): Promise<number> {
    let deleted = 0;
    while (!stopping) {
      const changes = statements().deleteOldEvents.run(cutoffMs, batchSize).changes;
      deleted += changes;
      if (changes < batchSize) break;
      await nextTurn();
    }
    return deleted;
  }

  async function pruneByCount(): Promise<number> {
    let deleted = 0;
    while (!stopping) {
      const { low, high } = statements().idBounds.get() ?? { low: null, high: null };
      if (low === null || high === null) break;
      const keepFrom = high - maxEvents + 1;
      if (low >= keepFrom) break;
      deleted += statements().deleteIdRange.run(low, Math.min(low + batchSize, keepFrom)).changes;
      await nextTurn();
    }
    return deleted;
  }

  /** Deletes the hourly rows older than cutoffHour of every key (host or domain) seen since `seenSinceMs`. */
  async function pruneKeyedHours(
    keysSeenSince: (seenSinceMs: number, afterMs: number, afterKey: string) => { key: string; lastMs: number }[],
    deleteOld: (key: string, cutoffHour: number) => number,
    seenSinceMs: number,
    cutoffHour: number,
  ): Promise<number> {
    let deleted = 0;
    let afterMs = Number.MIN_SAFE_INTEGER;
    let afterKey = '';
    while (!stopping) {
      const keys = keysSeenSince(seenSinceMs, afterMs, afterKey);
      for (const { key } of keys) deleted += deleteOld(key, cutoffHour);
      const last = keys[keys.length - 1];
      if (last === undefined || keys.length < KEYS_PER_STEP) break;
      afterMs = last.lastMs;
      afterKey = last.key;
      await nextTurn();
    }
    return deleted;
  }

  /** Deletes host_domains rows last seen before cutoffMs, walking the table in key order. */
  async function pruneHostNames(cutoffMs: number): Promise<number> {
    let deleted = 0;
    let after = { clientIp: '', qname: '' };
    while (!stopping) {
      const rows = statements().hostNamesAfter.all(after.clientIp, after.qname, batchSize);
      const old = rows.filter((row) => row.lastMs < cutoffMs);
      if (old.length > 0) {
        connection.db.transaction(() => {
          const forgotten = new Map<string, number>();
          for (const { clientIp, qname } of old) {
            statements().deleteHostName.run(clientIp, qname);
            if (qname !== OTHER_NAMES) forgotten.set(clientIp, (forgotten.get(clientIp) ?? 0) + 1);
          }
          for (const [clientIp, n] of forgotten) statements().forgetHostNames.run(n, clientIp);
        })();
        deleted += old.length;
      }
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < batchSize) break;
      after = last;
      await nextTurn();
    }
    return deleted;
  }

  /** Deletes domains rows (and their hourly rows) picked by `pick`, batch by batch, until none. */
  async function deleteDomains(pick: () => { qname: string }[]): Promise<number> {
    let deleted = 0;
    while (!stopping) {
      const rows = pick();
      if (rows.length === 0) break;
      connection.db.transaction(() => {
        for (const { qname } of rows) {
          statements().deleteDomain.run(qname);
          statements().deleteAllDomainHours.run(qname);
          statements().deleteAllDomainDays.run(qname);
        }
      })();
      deleted += rows.length;
      if (rows.length < batchSize) break;
      await nextTurn();
    }
    return deleted;
  }

  async function pruneSummaries(cutoffHour: number): Promise<number> {
    let deleted = await pruneHostNames(cutoffHour);
    deleted += await deleteDomains(() => statements().domainsSeenBefore.all(cutoffHour, batchSize));
    return deleted;
  }

  async function capDomains(): Promise<number> {
    const excess = (statements().domainCount.get()?.n ?? 0) - maxDomains;
    if (excess <= 0) return 0;
    let left = excess;
    return deleteDomains(() => {
      const rows = left > 0 ? statements().leastRecentDomains.all(Math.min(left, batchSize)) : [];
      left -= rows.length;
      return rows;
    });
  }

  async function pruneRollups(cutoffMs: number): Promise<{ rollupRows: number; summaryRows: number }> {
    const cutoffHour = hourOf(cutoffMs);
    let deleted = 0;
    let summaryRows = 0;
    // Hourly rows change once an hour: one pass per hour is enough.
    if (cutoffHour > prunedHoursBelow) {
      const seenSinceMs = prunedHoursBelow;
      // Day rows from the first midnight at or after cutoffHour: the day holding it loses hours.
      const keptDay = Math.ceil(cutoffHour / DAY_MS) * DAY_MS;
      statements().keepDaysFrom.run(keptDay);
      deleted += await pruneKeyedHours(
        (since, afterMs, afterKey) => statements().hostsSeenSince.all(since, afterMs, afterKey, KEYS_PER_STEP),
        (key, hour) =>
          statements().deleteHostHours.run(key, hour).changes + statements().deleteHostDays.run(key, keptDay).changes,
        seenSinceMs,
        cutoffHour,
      );
      deleted += await pruneKeyedHours(
        (since, afterMs, afterKey) => statements().domainsSeenSince.all(since, afterMs, afterKey, KEYS_PER_STEP),
        (key, hour) =>
          statements().deleteDomainHours.run(key, hour).changes +
          statements().deleteDomainDays.run(key, keptDay).changes,
        seenSinceMs,
        cutoffHour,
      );
      while (!stopping) {
        const hour = statements().oldestListHour.get()?.hour ?? null;
        if (hour === null || hour >= cutoffHour) break;
        deleted += statements().deleteListHour.run(hour).changes;
        await nextTurn();
      }
      // After the hourly rows: a name last seen before cutoffHour has none left, so none are orphaned.
      summaryRows += await pruneSummaries(cutoffHour);
      if (!stopping) prunedHoursBelow = cutoffHour;
    }
    summaryRows += await capDomains();
    // Whole hours of outcome minutes, as of outcome hours (a day of them per batch).
    while (!stopping) {
      const minute = statements().oldestMinute.get()?.minute ?? null;
      if (minute === null || minute >= cutoffHour) break;
      deleted += statements().deleteMinutes.run(minute, Math.min(minute + HOUR_MS, cutoffHour)).changes;
      await nextTurn();
    }
    while (!stopping) {
      const hour = statements().oldestOutcomeHour.get()?.hour ?? null;
      if (hour === null || hour >= cutoffHour) break;
      deleted += statements().deleteOutcomeHours.run(hour, Math.min(hour + DAY_MS, cutoffHour)).changes;
      await nextTurn();
    }
    return { rollupRows: deleted, summaryRows };
  }

  /** Compacts the complete days not compacted yet, one per turn (day-rollups.ts). */
  async function compactDays(): Promise<void> {
    while (!stopping && compactNextDay(connection.db, dayStatements(), clock()) !== undefined) await nextTurn();
  }

  async function pruneOther(): Promise<number> {
    let deleted = 0;
    while (!stopping && options.alsoPrune !== undefined) {
      const changes = options.alsoPrune(clock());
      deleted += changes;
      if (changes === 0) break;
      await nextTurn();
    }
    return deleted;
  }

  async function run(): Promise<PruneResult> {
    const cutoffMs = clock() - retentionMs;
    try {
      const eventsByAge = await pruneByAge(cutoffMs);
      const eventsByCount = await pruneByCount();
      const { rollupRows, summaryRows } = await pruneRollups(cutoffMs);
      await compactDays();
      const otherRows = await pruneOther();
      if (eventsByAge + eventsByCount + rollupRows + summaryRows + otherRows > 0) {
        log.info({ eventsByAge, eventsByCount, rollupRows, summaryRows, otherRows }, 'pruned the block log');
      }
      return { eventsByAge, eventsByCount, rollupRows, summaryRows, ...(otherRows > 0 ? { otherRows } : {}) };
    } catch (err: unknown) {
      throw new PoolsinkError('ERR_STORE_WRITE', `pruning ${connection.path} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  function runOnce(): Promise<PruneResult> {
    if (running === undefined) {
      stopping = false;
      running = run().finally(() => {
        running = undefined;
      });
    }
    return running;
  }

  function onTimer(): void {
    runOnce().catch((err: unknown) => {
      log.warn({ err: errorMessage(err) }, 'block log pruning failed; retrying at the next interval');
    });
  }

  return {
    start(): void {
      if (timer !== undefined) return;
      timer = setInterval(onTimer, intervalMs);
      timer.unref();
      onTimer();
    },
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      stopping = true;
      // The run's own failure goes to whoever awaits runOnce(); stop() only waits for it to end.
      if (running !== undefined) await running.catch(() => undefined);
    },
    runOnce,
  };
}
