/** What the dispatcher reports about each sink (to the DNS thread: /healthz, /metrics, GET /api/v1/notify). */
export interface SinkStatus {
  readonly name: string;
  readonly type: 'webhook' | 'slack' | 'syslog';
  readonly events: readonly string[];
  /** `failing` from a failed attempt until the next success. */
  readonly state: 'ok' | 'failing';
  readonly lastError?: string;
  readonly lastErrorMs?: number;
  readonly lastSuccessMs?: number;
  /** Deliveries waiting (pending, including retries). */
  readonly queueDepth: number;
  /** Totals in the database: delivered, given up after 24 h, held back by the rate limit. */
  readonly delivered: number;
  readonly failed: number;
  readonly held: number;
}

/** A configured sink before the writer thread has reported on it. */
export function initialSinkStatus(sink: {
  readonly name: string;
  readonly type: SinkStatus['type'];
  readonly events: readonly string[];
}): SinkStatus {
  return {
    name: sink.name,
    type: sink.type,
    events: sink.events,
    state: 'ok',
    queueDepth: 0,
    delivered: 0,
    failed: 0,
    held: 0,
  };
}
