/**
 * Defaults that modules outside config/ apply too, when they are built without a configuration
 * (tests, benchmarks): the block-log writer's. The configuration schema uses the same constants,
 * so a writer means the same whether main.ts or a test built it.
 */

/** Events per write transaction (the runtime value; the in-process writer once defaulted to 2000). */
export const EVENT_BATCH_SIZE = 500;
/**
 * Block events held in memory at most (`database.maxBufferedEvents`); more are dropped and counted.
 * A 10 s burst of 40,000 events/s into a 10M-event log left up to 200,000 waiting (the writer
 * thread draining 25,000-37,000/s on a shared core); about 215 bytes each, 86 MB at the bound.
 */
export const MAX_BUFFERED_EVENTS = 400_000;
/** How often buffered block events are written (`database.flushIntervalMs`). */
export const FLUSH_INTERVAL_MS = 250;
