/**
 * Owns the matcher the resolver uses and replaces it: a full rebuild (every list and the
 * allowlist, merged in time slices, see build.ts) or an allowlist-only swap, which shares the
 * lists' tables and takes microseconds. Each swap is one call to onMatcher, so a query sees the
 * old matcher or the new one. Rebuilds run one at a time, and requests made while one runs are
 * served by a single next one, which reads the lists when it starts.
 */
import type { Logger } from 'pino';
import { buildMatcherInSlices, createSlicer, type BuildList } from './build.js';
import type { DomainMatcher } from './matcher.js';

export interface SwapStats {
  readonly atMs: number;
  /** Wall time of the build, ms (slices and the work in between). */
  readonly durationMs: number;
  /** Longest slice: the longest the build kept the event loop, ms. */
  readonly maxSliceMs: number;
  readonly blockedNames: number;
}

export interface MatcherSwapperOptions {
  readonly initial: DomainMatcher;
  /** The lists to merge, in order; read when a rebuild starts. */
  readonly lists: () => readonly BuildList[];
  /** The whole allowlist; read when a rebuild ends, and by swapAllowlist. */
  readonly allowlist: () => readonly string[];
  readonly onMatcher: (matcher: DomainMatcher) => void;
  readonly log: Logger;
  readonly clock: () => number;
  readonly sliceMs: number;
}

export interface MatcherSwapper {
  readonly matcher: DomainMatcher;
  readonly building: boolean;
  readonly lastSwap: SwapStats | undefined;
  /** Resolves once a rebuild that started after this call has swapped its matcher in (or failed, logged). */
  rebuild(): Promise<void>;
  /** Swaps in the current matcher with the current allowlist, now. Throws ERR_CONFIG_INVALID for a bad entry. */
  swapAllowlist(): void;
  /** No swap after this; resolves when the rebuild in progress (if any) has ended. */
  stop(): Promise<void>;
}

export function createMatcherSwapper(options: MatcherSwapperOptions): MatcherSwapper {
  const { log, clock, sliceMs, onMatcher } = options;
  let matcher = options.initial;
  let building = false;
  let stopped = false;
  let lastSwap: SwapStats | undefined;
  let tail: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;

  function swap(next: DomainMatcher): void {
    if (stopped) return;
    matcher = next;
    onMatcher(next);
  }

  async function runRebuild(): Promise<void> {
    if (stopped) return;
    building = true;
    const startedAt = performance.now();
    const slicer = createSlicer(sliceMs);
    const lists = options.lists();
    try {
      const next = await buildMatcherInSlices(lists, options.allowlist, slicer);
      swap(next);
      lastSwap = {
        atMs: clock(),
        durationMs: performance.now() - startedAt,
        maxSliceMs: slicer.maxSliceMs,
        blockedNames: next.size,
      };
      log.info(
        {
          lists: lists.length,
          blockedNames: next.size,
          buildMs: Math.round(lastSwap.durationMs),
          maxSliceMs: Math.round(slicer.maxSliceMs),
        },
        'blocklists swapped',
      );
    } catch (err: unknown) {
      log.error({ err }, 'building the blocklist matcher failed; the previous one stays');
    } finally {
      building = false;
    }
  }

  return {
    get matcher() {
      return matcher;
    },
    get building() {
      return building;
    },
    get lastSwap() {
      return lastSwap;
    },
    rebuild() {
      if (queued !== undefined) return queued;
      const next = tail.then(() => {
        queued = undefined;
        return runRebuild();
      });
      queued = next;
      tail = next;
      return next;
    },
    swapAllowlist() {
      swap(matcher.withAllowlist(options.allowlist()));
    },
    async stop() {
      stopped = true;
      await tail;
    },
  };
}
