/**
 * Random 16-bit values for query IDs and socket choice (RFC 5452 §9.2): drawn from a buffer that
 * the CSPRNG fills in batches, so a query costs an array read rather than a crypto call.
 */
import { randomFillSync } from 'node:crypto';

export interface RandomIds {
  /** A uniformly random integer in 0..65535. */
  next(): number;
}

const DEFAULT_BATCH_SIZE = 2048;

export function createRandomIds(options: { batchSize?: number; fill?: (buffer: Uint16Array) => void } = {}): RandomIds {
  const batch = new Uint16Array(options.batchSize ?? DEFAULT_BATCH_SIZE);
  const fill = options.fill ?? ((buffer: Uint16Array) => randomFillSync(buffer));
  let pos = batch.length;
  return {
    next() {
      if (pos === batch.length) {
        fill(batch);
        pos = 0;
      }
      return batch[pos++]!;
    },
  };
}
