/**
 * The rows the dashboard's reads (/timeseries, /overview) meet in a busy database besides events and
 * their rollups: query outcome counts for every minute of the span (as the resolver writes them
 * every 5 s) and one active incident per host. Used by store-seed.mjs's seed; run alone on a seeded
 * file with `node scripts/bench/dashboard-rows.mjs <db> [days] [hosts]`.
 */
import { pathToFileURL } from 'node:url';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const OUTCOMES = ['forwarded', 'cached', 'blocked', 'alerted', 'refused', 'servfail'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];

/**
 * Fills outcome_minutes over [startMs, endMs), and outcome_hours with their sums (schema v11 on; an
 * older file gets them from its upgrade), and one open or acknowledged incident per host.
 */
export function seedDashboardRows(db, { startMs, endMs, hosts }) {
  const outcome = db.prepare(
    `INSERT INTO outcome_minutes (minute_ms, outcome, count) VALUES (?, ?, ?)
     ON CONFLICT (minute_ms, outcome) DO UPDATE SET count = count + excluded.count`,
  );
  const hasHours = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outcome_hours'").get();
  const outcomeHour = hasHours
    ? db.prepare(
        `INSERT INTO outcome_hours (hour_ms, outcome, count) VALUES (?, ?, ?)
         ON CONFLICT (hour_ms, outcome) DO UPDATE SET count = count + excluded.count`,
      )
    : undefined;
  const incident = db.prepare(
    `INSERT OR IGNORE INTO incidents (client_ip, state, severity, opened_ms, last_seen_ms, attempts, distinct_names, protocols)
     VALUES (?, ?, ?, ?, ?, 1, 1, 'udp')`,
  );
  db.transaction(() => {
    for (let minute = Math.floor(startMs / MINUTE_MS) * MINUTE_MS; minute < endMs; minute += MINUTE_MS) {
      for (const [i, name] of OUTCOMES.entries()) {
        outcome.run(minute, name, 1000 - i * 150);
        outcomeHour?.run(Math.floor(minute / HOUR_MS) * HOUR_MS, name, 1000 - i * 150);
      }
    }
    for (let i = 0; i < hosts; i += 1) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      incident.run(ip, i % 3 === 0 ? 'acknowledged' : 'open', SEVERITIES[i % 4], startMs, endMs);
    }
  })();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [path, days = '30', hosts = '5000'] = process.argv.slice(2);
  if (path === undefined) throw new Error('usage: node scripts/bench/dashboard-rows.mjs <db> [days] [hosts]');
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path);
  const endMs = Date.now();
  seedDashboardRows(db, { startMs: endMs - Number(days) * DAY_MS, endMs, hosts: Number(hosts) });
  db.close();
}
