/**
 * Upstream health: an upstream that failed UNHEALTHY_AFTER_FAILURES times in a row (timeouts,
 * socket errors, SERVFAIL, REFUSED) is tried after the healthy ones until it answers again.
 * Otherwise upstreams are tried in configuration order, the first being the primary.
 */
export const UNHEALTHY_AFTER_FAILURES = 3;

export type FailureReason = 'timeout' | 'servfail' | 'refused' | 'error';

export interface UpstreamHealth {
  upstream: string;
  consecutiveFailures: number;
  /** Failed attempts since start, by reason. */
  failures: Readonly<Record<FailureReason, number>>;
  lastError?: string;
}

export interface HealthTarget {
  /** "host:port" ("[v6]:port" for IPv6), as reported in results and logs. */
  readonly label: string;
  consecutiveFailures: number;
  lastError: string | undefined;
  readonly failures: Record<FailureReason, number>;
}

export interface HealthTracker<T extends HealthTarget> {
  /** The order to try upstreams in now. The same array until some upstream changes state. */
  order(): readonly T[];
  /** Records an answer; returns true if the upstream was unhealthy and has now recovered. */
  succeeded(target: T): boolean;
  /** Records a failure; returns true if the upstream has just become unhealthy. */
  failed(target: T, detail: string): boolean;
  snapshot(): UpstreamHealth[];
}

export function isHealthy(target: HealthTarget): boolean {
  return target.consecutiveFailures < UNHEALTHY_AFTER_FAILURES;
}

export function createHealthTracker<T extends HealthTarget>(targets: readonly T[]): HealthTracker<T> {
  let cachedOrder: readonly T[] | undefined;

  return {
    order() {
      cachedOrder ??= [...targets.filter(isHealthy), ...targets.filter((t) => !isHealthy(t))];
      return cachedOrder;
    },
    succeeded(target) {
      const recovered = !isHealthy(target);
      target.consecutiveFailures = 0;
      if (recovered) cachedOrder = undefined;
      return recovered;
    },
    failed(target, detail) {
      target.consecutiveFailures++;
      target.lastError = detail;
      const demoted = target.consecutiveFailures === UNHEALTHY_AFTER_FAILURES;
      if (demoted) cachedOrder = undefined;
      return demoted;
    },
    snapshot() {
      return targets.map((t) =>
        t.lastError === undefined
          ? { upstream: t.label, consecutiveFailures: t.consecutiveFailures, failures: { ...t.failures } }
          : {
              upstream: t.label,
              consecutiveFailures: t.consecutiveFailures,
              failures: { ...t.failures },
              lastError: t.lastError,
            },
      );
    },
  };
}
