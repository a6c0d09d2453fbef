/**
 * The listener's one sweep timer (instead of a timer per connection): closes connections whose
 * first query, current frame or idle time has run past its timeout. It runs only while there are
 * connections.
 */
import { performance } from 'node:perf_hooks';
import type { Connection, TcpCounters } from './tcp-connection.js';
import type { TcpTimeouts } from './tcp-limits.js';

export interface TcpSweep {
  /** Starts the timer unless it runs. */
  start(): void;
  stop(): void;
}

export function createTcpSweep(
  connections: ReadonlySet<Connection>,
  timeouts: TcpTimeouts,
  counters: TcpCounters,
): TcpSweep {
  const { firstQueryTimeoutMs, readTimeoutMs, idleTimeoutMs, sweepIntervalMs } = timeouts;
  let sweepTimer: NodeJS.Timeout | undefined;

  function sweep(): void {
    const now = performance.now();
    for (const conn of connections) {
      if (conn.socket.destroyed) continue;
      if (conn.acceptedMs >= 0 && now - conn.acceptedMs >= firstQueryTimeoutMs) {
        counters.firstQueryTimeouts++;
        conn.socket.destroy();
      } else if (!conn.paused && conn.frameStartMs >= 0 && now - conn.frameStartMs >= readTimeoutMs) {
        counters.readTimeouts++;
        conn.socket.destroy();
      } else if (
        conn.outstanding === 0 &&
        (conn.paused || conn.frameStartMs < 0) &&
        now - conn.lastActivityMs >= idleTimeoutMs
      ) {
        counters.idleClosed++;
        conn.socket.destroy();
      }
    }
    if (connections.size === 0) stop();
  }

  function start(): void {
    if (sweepTimer !== undefined) return;
    sweepTimer = setInterval(sweep, sweepIntervalMs);
    sweepTimer.unref();
  }

  function stop(): void {
    if (sweepTimer === undefined) return;
    clearInterval(sweepTimer);
    sweepTimer = undefined;
  }

  return { start, stop };
}
