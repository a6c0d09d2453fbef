/**
 * Where block events go: counted per list (for /metrics) on their way to the writer thread, and
 * also to the caller's observer when one is given (tests watch events with it).
 */
import type { BlockEventSink } from '../dns/block-event.js';
import { countListMatches, type ListMatchCounter } from '../dns/list-matches.js';

export interface BlockEventRoute {
  /** Every block event enters here. */
  readonly events: BlockEventSink;
  /** Matches per list, counted as events pass to the store. */
  readonly listMatches: ListMatchCounter;
}

export function routeBlockEvents(store: BlockEventSink, observer: BlockEventSink | undefined): BlockEventRoute {
  const listMatches = countListMatches(store);
  const events: BlockEventSink =
    observer === undefined
      ? listMatches
      : {
          record(event) {
            listMatches.record(event);
            observer.record(event);
          },
        };
  return { events, listMatches };
}
