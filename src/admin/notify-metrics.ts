/** poolsink_notify_*: per-sink queue depth, deliveries, failures and held messages, read at scrape time. */
import type { Registry } from 'prom-client';
import type { SinkStatus } from '../notify/sink-status.js';
import { scraped } from './scraped-metric.js';

export interface NotifyMetricsSource {
  status(): readonly SinkStatus[];
}

export function registerNotifyMetrics(registry: Registry, notify: NotifyMetricsSource): void {
  const each = (read: (sink: SinkStatus) => number) => (set: (labels: { sink?: string }, value: number) => void) => {
    for (const sink of notify.status()) set({ sink: sink.name }, read(sink));
  };
  scraped(
    'gauge',
    registry,
    'poolsink_notify_queue_depth',
    'Notification deliveries waiting, by sink',
    ['sink'],
    each((s) => s.queueDepth),
  );
  scraped(
    'counter',
    registry,
    'poolsink_notify_delivered_total',
    'Notifications delivered, by sink',
    ['sink'],
    each((s) => s.delivered),
  );
  scraped(
    'counter',
    registry,
    'poolsink_notify_failures_total',
    'Notifications given up after 24 h of retries, by sink',
    ['sink'],
    each((s) => s.failed),
  );
  scraped(
    'counter',
    registry,
    'poolsink_notify_held_total',
    'Notifications held back by the rate limit (sent as digests), by sink',
    ['sink'],
    each((s) => s.held),
  );
  scraped(
    'gauge',
    registry,
    'poolsink_notify_sink_up',
    '1 unless the last delivery attempt to the sink failed',
    ['sink'],
    each((s) => (s.state === 'ok' ? 1 : 0)),
  );
}
