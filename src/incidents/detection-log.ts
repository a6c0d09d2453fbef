/**
 * One `info` line when a host is first seen blocked (its incident opens) and when it asks for a
 * pool name new to its incident, so `docker logs` shows detection before any notification sink is
 * configured. Written by the incident tracker in the writer thread, after the batch's transaction
 * commits (nothing per query on the DNS thread). At most `maxPerMinute` lines a minute; the rest
 * are counted and one line says how many were left out. Names are in presentation format.
 */
import type { Logger } from 'pino';
import { presentName } from '../net/presentation.js';

export const DETECTION_LINES_PER_MINUTE = 20;
const WINDOW_MS = 60_000;

export interface Detection {
  readonly kind: 'host' | 'name';
  readonly clientIp: string;
  readonly qname: string;
  readonly list: string;
  readonly incidentId: number;
}

export interface DetectionLog {
  /** Writes the lines for a committed batch's detections, within the rate limit. */
  write(detections: readonly Detection[]): void;
  /** Says how many lines were left out, once their minute is over (called by the periodic sweep). */
  flush(): void;
}

export function createDetectionLog(options: {
  readonly log: Logger;
  readonly clock: () => number;
  readonly maxPerMinute?: number;
}): DetectionLog {
  const { log, clock } = options;
  const maxPerMinute = options.maxPerMinute ?? DETECTION_LINES_PER_MINUTE;
  let windowStartMs = Number.NEGATIVE_INFINITY;
  let written = 0;
  let suppressed = 0;

  function startWindowIfDue(now: number): void {
    if (now - windowStartMs < WINDOW_MS) return;
    if (suppressed > 0) {
      log.info(
        { suppressed },
        `detection log: ${suppressed} more new hosts or names in the last minute (see the incidents API)`,
      );
    }
    windowStartMs = now;
    written = 0;
    suppressed = 0;
  }

  return {
    write(detections) {
      if (detections.length === 0 || !log.isLevelEnabled('info')) return;
      startWindowIfDue(clock());
      for (const d of detections) {
        if (written >= maxPerMinute) {
          suppressed += 1;
          continue;
        }
        written += 1;
        const qname = presentName(d.qname);
        const fields = { client: d.clientIp, qname, list: d.list, incident: d.incidentId };
        if (d.kind === 'host') log.info(fields, `new host blocked: ${d.clientIp} asked for ${qname} (${d.list})`);
        else log.info(fields, `new pool name: ${d.clientIp} asked for ${qname} (${d.list})`);
      }
    },
    flush() {
      startWindowIfDue(clock());
    },
  };
}
