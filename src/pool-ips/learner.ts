/**
 * The pool IP learner: every `resolveIntervalMs` it resolves (A and AAAA) the exact names of the
 * lists with `resolveForIps` through the configured upstreams, at most `maxQueriesPerSecond`, and
 * learns the public addresses they point at (address-policy.ts decides which may be learned;
 * learned-set.ts which are shared). It also resolves the allowlist's names, whose addresses are
 * never learned. Wildcard entries (`*.pool.example`) name no host and are not resolved.
 *
 * Never on the query path: it talks to the upstream pool directly (not through the resolver or
 * its cache), from its own timer. What it learns is saved in SQLite (pool_ips, through the writer
 * thread), loaded at start so a restart keeps it, and forgotten `expireAfterDays` after it was last
 * seen. Each round ends by handing the effective set to `onLearned` (response-IP blocking).
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { addressText } from '../net/cidr-text.js';
import { QTYPE, RCODE } from '../wire/header.js';
import { inspectResponse } from '../wire/inspect-response.js';
import { buildQuestionQuery } from '../wire/question-query.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { PoolIpRow, PoolIpWrite } from '../store/pool-ip-store.js';
import type { IpListInput } from '../blocklist/ip-blocklist.js';
import { createAddressPolicy, type ExclusionReason } from './address-policy.js';
import { createLearnedSet, type LearnedAddress } from './learned-set.js';

/** The list name learned addresses block or alert under. */
export const LEARNED_LIST_NAME = 'learned-pool-ips';

const DAY_MS = 86_400_000;

export interface LearnerSettings {
  readonly mode: 'block' | 'alert';
  readonly startDelayMs: number;
  readonly resolveIntervalMs: number;
  readonly maxQueriesPerSecond: number;
  readonly expireAfterDays: number;
  readonly maxDomainsPerAddress: number;
  readonly exclude: readonly string[];
}

export interface PoolIpLearnerOptions {
  readonly settings: LearnerSettings;
  /** The names to resolve, per list (ListManager.namesToResolve). */
  readonly names: () => readonly { readonly list: string; readonly names: readonly string[] }[];
  /** The allowlist's names: their addresses are never learned. */
  readonly allowlist: () => readonly string[];
  readonly upstream: Pick<UpstreamPool, 'query'>;
  readonly store: { rows(): readonly PoolIpRow[]; write(write: PoolIpWrite): Promise<void> };
  readonly onLearned: (list: IpListInput) => void;
  readonly log: Logger;
  readonly clock?: () => number;
}

export interface LearnerStatus {
  readonly rounds: number;
  readonly running: boolean;
  readonly lastRoundEndMs?: number;
  readonly queriesSent: number;
  readonly failedQueries: number;
  readonly learned: number;
  readonly excluded: Readonly<Record<ExclusionReason | 'shared' | 'allowlisted', number>>;
}

export interface PoolIpLearner {
  /** Loads the saved set, hands it on, and starts the rounds (the first after startDelayMs). */
  start(): void;
  /** Stops the rounds; resolves when the round in progress has ended. */
  stop(): Promise<void>;
  /** The effective learned set, sorted by address. */
  addresses(): LearnedAddress[];
  status(): LearnerStatus;
}

interface Job {
  readonly name: string;
  readonly qtype: number;
  /** The list of a name to learn from; undefined for an allowlisted name. */
  readonly list: string | undefined;
}

export function createPoolIpLearner(options: PoolIpLearnerOptions): PoolIpLearner {
  const { settings, upstream, store, log } = options;
  const clock = options.clock ?? Date.now;
  const policy = createAddressPolicy(settings.exclude);
  const learned = createLearnedSet(settings.maxDomainsPerAddress);
  const gapMs = Math.ceil(1000 / settings.maxQueriesPerSecond);
  const policyExcluded: Record<ExclusionReason, number> = {
    'not a public address': 0,
    'a shared CDN range': 0,
    'excluded by poolIps.exclude': 0,
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let current: Promise<void> | undefined;
  let rounds = 0;
  let lastRoundEndMs: number | undefined;
  let queriesSent = 0;
  let failedQueries = 0;
  let effective: LearnedAddress[] = [];
  let allowlistedSightings = 0;

  function publish(): void {
    effective = learned.addresses();
    options.onLearned({ name: LEARNED_LIST_NAME, mode: settings.mode, cidrs: effective.map((entry) => entry.address) });
  }

  /** Waits `ms` unless stopped first (then resolves at once). */
  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
  }

  function ask(job: Job): Promise<string[]> {
    const query = buildQuestionQuery(job.name, job.qtype);
    if (query === undefined) return Promise.resolve([]);
    queriesSent++;
    return new Promise((resolve) => {
      upstream.query(query.wire, query.questionEnd, (result) => {
        if (result.kind !== 'answer') {
          failedQueries++;
          resolve([]);
          return;
        }
        const facts = inspectResponse(result.response);
        if (facts === undefined || facts.rcode !== RCODE.NOERROR) {
          if (facts === undefined || facts.rcode !== RCODE.NXDOMAIN) failedQueries++;
          resolve([]);
          return;
        }
        const out: string[] = [];
        for (const offset of facts.ipv4Offsets) out.push(addressText(result.response, offset, 4));
        for (const offset of facts.ipv6Offsets) out.push(addressText(result.response, offset, 16));
        resolve(out);
      });
    });
  }

  function jobsOfRound(): Job[] {
    const jobs: Job[] = [];
    const seen = new Set<string>();
    const add = (name: string, list: string | undefined): void => {
      if (seen.has(name)) return;
      seen.add(name);
      jobs.push({ name, qtype: QTYPE.A, list }, { name, qtype: QTYPE.AAAA, list });
    };
    // The allowlist first: an address it resolves to is not learned in this round either.
    for (const name of options.allowlist()) add(name, undefined);
    for (const { list, names } of options.names()) for (const name of names) add(name, list);
    return jobs;
  }

  async function round(): Promise<void> {
    // No list to learn from: nothing to ask (not even the allowlist); saved addresses still expire.
    const jobs = options.names().some((list) => list.names.length > 0) ? jobsOfRound() : [];
    const allowAddresses = new Set<string>();
    const sightings: { address: string; name: string; list: string; atMs: number }[] = [];
    const answers: Promise<void>[] = [];
    for (const [index, job] of jobs.entries()) {
      if (stopped) break;
      if (index > 0) await pause(gapMs);
      if (stopped) break;
      answers.push(
        ask(job).then((addresses) => {
          const atMs = clock();
          for (const address of addresses) {
            if (job.list === undefined) {
              allowAddresses.add(address);
              continue;
            }
            const exclusion = policy.exclusion(address);
            if (exclusion !== undefined) policyExcluded[exclusion]++;
            else sightings.push({ address, name: job.name, list: job.list, atMs });
          }
        }),
      );
    }
    await Promise.all(answers);
    if (stopped) return;
    const rows: PoolIpRow[] = [];
    for (const { address, name, list, atMs } of sightings) {
      if (allowAddresses.has(address)) allowlistedSightings++;
      else rows.push(learned.observe(address, name, list, atMs));
    }
    // Also what an earlier round (or a start) learned of an address that is now allowlisted.
    const forgotten = learned.forget(allowAddresses);
    const beforeMs = clock() - settings.expireAfterDays * DAY_MS;
    const expired = learned.expire(beforeMs);
    publish();
    rounds++;
    lastRoundEndMs = clock();
    log.info(
      { names: jobs.length / 2, queries: jobs.length, sightings: rows.length, expired, learned: effective.length },
      'pool IPs resolved',
    );
    try {
      if (rows.length > 0) await store.write({ method: 'upsert', rows });
      await store.write({ method: 'delete', beforeMs, pairs: forgotten });
    } catch (err: unknown) {
      log.warn(
        { err: errorMessage(err) },
        'learned pool IPs not saved; they are in use but will not survive a restart',
      );
    }
  }

  async function loop(): Promise<void> {
    if (settings.startDelayMs > 0) await pause(settings.startDelayMs);
    while (!stopped) {
      try {
        await round();
      } catch (err: unknown) {
        log.error({ err }, 'pool IP round failed');
      }
      if (stopped) return;
      await pause(settings.resolveIntervalMs);
    }
  }

  return {
    start() {
      try {
        const rows = store.rows();
        // Addresses the policy refuses now (poolIps.exclude grew) are dropped at load.
        learned.load(rows.filter((row) => policy.exclusion(row.address) === undefined));
      } catch (err: unknown) {
        log.warn({ err: errorMessage(err) }, 'saved pool IPs not loaded');
      }
      publish();
      current = loop();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      wake?.();
      await current;
    },
    addresses: () => effective,
    status() {
      return {
        rounds,
        running: current !== undefined && !stopped,
        ...(lastRoundEndMs !== undefined ? { lastRoundEndMs } : {}),
        queriesSent,
        failedQueries,
        learned: effective.length,
        excluded: { ...policyExcluded, shared: learned.shared, allowlisted: allowlistedSightings },
      };
    },
  };
}
