/**
 * Per-client query rate limiting: a token bucket per client address (refilled at `qps`, holding at
 * most `burst`), and a gate that the listeners put in front of the resolver.
 *
 * The bucket table is bounded: buckets live in fixed slots of typed arrays (no object per client),
 * found through one Map from address to slot. A known client costs one Map lookup and a few
 * number writes, with no allocation. A new client takes a free slot; a clock hand walking the slots
 * frees buckets that have refilled (idle), and when every slot is taken it evicts the first bucket
 * not used since the hand last passed (CLOCK), so a spoofed-source flood recycles its own one-shot
 * buckets while a client that keeps sending keeps its bucket.
 *
 * "Logged once per client per interval": `check` returns LIMIT_AND_LOG at most once per client per
 * `logIntervalMs`, and at most `maxLogsPerInterval` times per interval over all clients (a flood
 * from many spoofed sources must not become a log flood); the rest are counted as suppressed.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { PoolsinkError } from '../errors.js';
import type { Transport } from './transport.js';
import { RCODE } from '../wire/header.js';
import { PARSE, createParsedQuery, parseQuery } from '../wire/query.js';
import { buildErrorResponse } from '../wire/answer.js';

/** A check's result. Numbers, not objects: this runs for every query. */
export const RATE = {
  ALLOW: 0,
  /** Over the limit. */
  LIMIT: 1,
  /** Over the limit, and a log line is due for this client (see limitedSinceLog). */
  LIMIT_AND_LOG: 2,
} as const;
export type RateVerdict = (typeof RATE)[keyof typeof RATE];

export const RATE_LIMIT_DEFAULTS = Object.freeze({
  qps: 1_000,
  burst: 2_000,
  maxClients: 100_000,
  logIntervalMs: 60_000,
  maxLogsPerInterval: 100,
});

export interface RateLimiterOptions {
  /** Tokens added per second per client. */
  qps: number;
  /** Bucket size: queries a client may send at once after being quiet. At least 1. */
  burst: number;
  /** Buckets kept at most (memory bound: about 100 bytes each). Default 100,000. */
  maxClients?: number;
  /** Default 60,000 (once a minute). */
  logIntervalMs?: number;
  /** Log lines due per interval over all clients before the rest are suppressed. Default 100. */
  maxLogsPerInterval?: number;
  /** Milliseconds, monotonic. Default performance.now. */
  clock?: () => number;
}

export interface RateLimiterStats {
  allowed: number;
  limited: number;
  /** Buckets dropped: refilled ones freed by the clock hand, and live ones evicted for room. */
  evicted: number;
  /** Log lines due but suppressed by maxLogsPerInterval. */
  logsSuppressed: number;
}

export interface RateLimiter {
  check(clientIp: string): RateVerdict;
  /** Valid right after `check` returned LIMIT_AND_LOG: that client's queries limited since its previous log line. */
  readonly limitedSinceLog: number;
  /** Valid right after `check` returned LIMIT_AND_LOG: log lines suppressed (all clients) since the previous one. */
  readonly suppressedSinceLog: number;
  /** Clients with a bucket now. */
  readonly clients: number;
  readonly stats: Readonly<RateLimiterStats>;
}

const INITIAL_SLOTS = 1_024;
/** Slots the clock hand looks at per new client, freeing refilled buckets. */
const IDLE_SWEEP_STEPS = 2;
/** Slots the hand passes over (clearing their used bit) before it evicts regardless. */
const MAX_EVICTION_SCAN = 32;

function invalid(name: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_CONFIG_INVALID', `rate limit: ${name} ${problem}`);
}

function positive(value: number, name: string, integer: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw invalid(name, `must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const qps = positive(options.qps, 'qps', false);
  const burst = positive(options.burst, 'burst', false);
  if (burst < 1) throw invalid('burst', `must be at least 1, got ${burst}`);
  const maxClients = positive(options.maxClients ?? RATE_LIMIT_DEFAULTS.maxClients, 'maxClients', true);
  const logIntervalMs = options.logIntervalMs ?? RATE_LIMIT_DEFAULTS.logIntervalMs;
  if (!Number.isFinite(logIntervalMs) || logIntervalMs < 0)
    throw invalid('logIntervalMs', `must be 0 or more, got ${logIntervalMs}`);
  const maxLogs = positive(
    options.maxLogsPerInterval ?? RATE_LIMIT_DEFAULTS.maxLogsPerInterval,
    'maxLogsPerInterval',
    true,
  );
  const clock = options.clock ?? (() => performance.now());
  const tokensPerMs = qps / 1000;

  const slotOf = new Map<string, number>();
  let capacity = Math.min(maxClients, INITIAL_SLOTS);
  const keys: (string | undefined)[] = new Array<string | undefined>(capacity).fill(undefined);
  let tokens = new Float64Array(capacity);
  let seenMs = new Float64Array(capacity);
  let loggedMs = new Float64Array(capacity);
  let limitedCount = new Float64Array(capacity);
  let used = new Uint8Array(capacity);
  /** Slots handed out so far; slots below it may be free again (listed in `free`). */
  let highWater = 0;
  const free: number[] = [];
  let hand = 0;

  let windowStartMs = -Infinity;
  let logsInWindow = 0;
  let suppressed = 0;
  let lastLimitedSinceLog = 0;
  let lastSuppressedSinceLog = 0;
  const stats: RateLimiterStats = { allowed: 0, limited: 0, evicted: 0, logsSuppressed: 0 };

  function grow(): void {
    const next = Math.min(maxClients, capacity * 2);
    const copy = <T extends Float64Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    tokens = copy(tokens, new Float64Array(next));
    seenMs = copy(seenMs, new Float64Array(next));
    loggedMs = copy(loggedMs, new Float64Array(next));
    limitedCount = copy(limitedCount, new Float64Array(next));
    used = copy(used, new Uint8Array(next));
    for (let i = capacity; i < next; i++) keys.push(undefined);
    capacity = next;
  }

  /** True when the bucket has refilled and its log interval is over: forgetting it changes nothing. */
  function isIdle(slot: number, now: number): boolean {
    return tokens[slot]! + (now - seenMs[slot]!) * tokensPerMs >= burst && now - loggedMs[slot]! >= logIntervalMs;
  }

  function release(slot: number): void {
    const key = keys[slot];
    if (key === undefined) return;
    slotOf.delete(key);
    keys[slot] = undefined;
    free.push(slot);
    stats.evicted++;
  }

  function advanceHand(): number {
    const slot = hand;
    hand = hand + 1 >= highWater ? 0 : hand + 1;
    return slot;
  }

  /** Frees up to `steps` idle buckets under the clock hand. */
  function sweepIdle(now: number): void {
    for (let i = 0; i < IDLE_SWEEP_STEPS && highWater > 0; i++) {
      const slot = advanceHand();
      if (keys[slot] !== undefined && isIdle(slot, now)) release(slot);
    }
  }

  /** Every slot is taken: evicts the first bucket the hand finds unused (or idle), CLOCK style. */
  function evictOne(now: number): number {
    // Only called with no free slot, so every slot the hand meets holds a bucket.
    for (let scanned = 0; ; scanned++) {
      const slot = advanceHand();
      if (scanned >= MAX_EVICTION_SCAN || used[slot] === 0 || isIdle(slot, now)) {
        release(slot);
        free.pop();
        return slot;
      }
      used[slot] = 0;
    }
  }

  function admit(clientIp: string, now: number): number {
    sweepIdle(now);
    let slot: number;
    const reused = free.pop();
    if (reused !== undefined) slot = reused;
    else if (highWater < capacity) slot = highWater++;
    else if (capacity < maxClients) {
      grow();
      slot = highWater++;
    } else slot = evictOne(now);
    keys[slot] = clientIp;
    slotOf.set(clientIp, slot);
    tokens[slot] = burst;
    seenMs[slot] = now;
    loggedMs[slot] = -Infinity;
    limitedCount[slot] = 0;
    used[slot] = 0; // a one-shot client is the first to go when room is needed
    return slot;
  }

  function limited(slot: number, now: number): RateVerdict {
    stats.limited++;
    limitedCount[slot] = limitedCount[slot]! + 1;
    if (now - loggedMs[slot]! < logIntervalMs) return RATE.LIMIT;
    loggedMs[slot] = now;
    if (now - windowStartMs >= logIntervalMs) {
      windowStartMs = now;
      logsInWindow = 0;
    }
    if (logsInWindow >= maxLogs) {
      suppressed++;
      stats.logsSuppressed++;
      limitedCount[slot] = 0;
      return RATE.LIMIT;
    }
    logsInWindow++;
    lastLimitedSinceLog = limitedCount[slot]!;
    lastSuppressedSinceLog = suppressed;
    limitedCount[slot] = 0;
    suppressed = 0;
    return RATE.LIMIT_AND_LOG;
  }

  return {
    check(clientIp) {
      const now = clock();
      let slot = slotOf.get(clientIp);
      if (slot === undefined) {
        slot = admit(clientIp, now);
      } else {
        const elapsed = now - seenMs[slot]!;
        if (elapsed > 0) {
          const refilled = tokens[slot]! + elapsed * tokensPerMs;
          tokens[slot] = Math.min(refilled, burst);
          seenMs[slot] = now;
        }
        used[slot] = 1;
      }
      if (tokens[slot]! >= 1) {
        tokens[slot] = tokens[slot]! - 1;
        stats.allowed++;
        return RATE.ALLOW;
      }
      return limited(slot, now);
    },
    get limitedSinceLog() {
      return lastLimitedSinceLog;
    },
    get suppressedSinceLog() {
      return lastSuppressedSinceLog;
    },
    get clients() {
      return slotOf.size;
    },
    stats,
  };
}

export type RateLimitAction = 'refuse' | 'drop';

export interface RateLimitCounters {
  /** Queries over the limit: refused + dropped. */
  limited: number;
  refused: number;
  dropped: number;
}

/**
 * What the listeners call before handing a query to the resolver. One gate is shared by every
 * listener, so a client's UDP and TCP queries draw on one bucket.
 */
export interface RateLimitGate {
  /**
   * True: pass the query on to the resolver. False: the client is over its limit and the gate has
   * already answered REFUSED or dropped the query through `transport` (exactly one send or drop),
   * counted it, and logged when due.
   */
  admit(query: Buffer, clientIp: string, clientPort: number, transport: Transport): boolean;
  readonly counters: Readonly<RateLimitCounters>;
  readonly limiter: RateLimiter;
  /**
   * A new limiter (fresh buckets) and action from the next query on, or undefined: admit every
   * query (rate limiting turned off by a configuration reload).
   */
  reconfigure(next: { limiter: RateLimiter; action: RateLimitAction } | undefined): void;
}

export function createRateLimitGate(deps: {
  limiter: RateLimiter;
  action: RateLimitAction;
  log: Logger;
}): RateLimitGate {
  const { log } = deps;
  let { limiter, action } = deps;
  let enabled = true;
  const parsed = createParsedQuery();
  const counters: RateLimitCounters = { limited: 0, refused: 0, dropped: 0 };

  return {
    admit(query, clientIp, clientPort, transport) {
      if (!enabled) return true;
      const verdict = limiter.check(clientIp);
      if (verdict === RATE.ALLOW) return true;
      counters.limited++;
      if (verdict === RATE.LIMIT_AND_LOG) {
        log.warn(
          {
            client: clientIp,
            limited: limiter.limitedSinceLog,
            suppressedLogLines: limiter.suppressedSinceLog,
            action,
          },
          'client over its query rate limit',
        );
      }
      // A response (QR=1) or a runt gets no answer in any case.
      if (action === 'drop' || parseQuery(query, parsed) === PARSE.DROP) {
        counters.dropped++;
        transport.drop();
        return false;
      }
      counters.refused++;
      transport.send(buildErrorResponse(query, parsed, RCODE.REFUSED), clientIp, clientPort);
      return false;
    },
    counters,
    get limiter() {
      return limiter;
    },
    reconfigure(next) {
      enabled = next !== undefined;
      if (next === undefined) return;
      limiter = next.limiter;
      action = next.action;
    },
  };
}
