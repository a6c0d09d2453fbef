/** poolsink_honeypot_*: connections ended by outcome and connections open, read at scrape time. */
import type { Registry } from 'prom-client';
import { HONEYPOT_OUTCOMES, type HoneypotOutcome } from '../honeypot/honeypot-server.js';
import { scraped } from './scraped-metric.js';

export interface HoneypotMetricsSource {
  readonly outcomes: Readonly<Record<HoneypotOutcome, number>>;
  readonly open: number;
}

export function registerHoneypotMetrics(registry: Registry, honeypot: HoneypotMetricsSource): void {
  scraped(
    'counter',
    registry,
    'poolsink_honeypot_connections_total',
    'Stratum honeypot connections ended, by outcome (login, garbage, timeout, refused_client ...)',
    ['outcome'],
    (set) => {
      for (const outcome of HONEYPOT_OUTCOMES) set({ outcome }, honeypot.outcomes[outcome]);
    },
  );
  scraped('gauge', registry, 'poolsink_honeypot_open_connections', 'Stratum honeypot connections open', [], (set) =>
    set({}, honeypot.open),
  );
}
