/**
 * The primary's side of `dns.workers` > 1: forks the resolver processes (worker.ts), hands each
 * the configuration and the matcher image, and is their one link to what only the primary owns
 * (block log, lists, admin API). A worker that dies is forked again, with a backoff; close()
 * drains every worker (stop accepting, answer what is in flight, send the last events) first.
 *
 * The DNS sockets: node:cluster makes the primary open each listen address once and share it
 * with every worker (UDP: one socket read by all; TCP: the primary accepts and hands connections
 * round-robin). The primary itself never binds them, and port 0 is made concrete before the first
 * fork (port-reserve.ts), so every worker binds the same key.
 */
import cluster, { type Worker } from 'node:cluster';
import { existsSync, rmSync, unlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { createMatcherImage } from '../blocklist/matcher-image.js';
import type { IpListInput } from '../blocklist/ip-blocklist.js';
import type { DomainMatcher } from '../blocklist/matcher.js';
import type { Config } from '../config/types.js';
import type { BlockEventSink } from '../dns/block-event.js';
import { PoolsinkError, isErrorCode } from '../errors.js';
import type { HostPort } from '../net/address.js';
import type { HistoryBatch } from '../store/history-protocol.js';
import type { OutcomeCounts } from '../store/types.js';
import { relayLogLine } from '../store/worker-support.js';
import { imageRefBytes, prepareImageDir, writeImageFile, type MatcherImageRef } from './image-file.js';
import type { FromWorker, ToWorker } from './messages.js';
import { reservePorts } from './port-reserve.js';
import type { WorkerSnapshot } from './snapshot.js';

/** How long a snapshot request waits for a worker (a busy or dying one is left out of the sums). */
const SNAPSHOT_TIMEOUT_MS = 2_000;
/** How long a draining worker gets before it is killed. */
const DRAIN_GRACE_MS = 1_000;
const RESPAWN_MIN_MS = 100;
const RESPAWN_MAX_MS = 10_000;
/** A worker up this long resets the respawn backoff. */
const RESPAWN_RESET_MS = 30_000;

/** dns.workers as a count: `auto` is one per core. */
export function workerCount(workers: number | 'auto'): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

function workerScript(): string {
  const sibling = new URL('./worker-entry.js', import.meta.url);
  if (existsSync(sibling)) return fileURLToPath(sibling);
  // Running from the TypeScript sources (tests): the worker must be the compiled one.
  const built = new URL('../../dist/cluster/worker-entry.js', import.meta.url);
  if (existsSync(built)) return fileURLToPath(built);
  throw new PoolsinkError(
    'ERR_WORKER',
    `the resolver worker script ${fileURLToPath(sibling)} is missing: run \`npm run build\``,
  );
}

export interface WorkerPoolOptions {
  readonly config: Config;
  readonly count: number;
  readonly matcher: DomainMatcher;
  readonly log: Logger;
  readonly events: BlockEventSink;
  readonly addOutcomes: (deltas: OutcomeCounts) => void;
  /** The response-IP blocklist's inputs at start (ip lists, learned pool addresses). */
  readonly ipLists: readonly IpListInput[];
  /** Where the workers' query-history batches go (history.enabled). */
  readonly recordHistory?: (batch: HistoryBatch) => void;
}

export interface WorkerInfo {
  readonly workerId: number;
  readonly pid: number;
  readonly starts: number;
}

export interface WorkerPool {
  readonly udp: readonly HostPort[];
  readonly tcp: readonly HostPort[];
  /** The live workers (a test kills one through its pid). */
  workers(): WorkerInfo[];
  /** Sends the new lists to every worker (one message each); later forks get them too. */
  setMatcher(matcher: DomainMatcher): void;
  /** Sends the response-IP blocklist's new inputs to every worker; later forks get them too. */
  setIpLists(lists: readonly IpListInput[]): void;
  /** Sends a configuration the primary applied: each worker applies its live keys. */
  reload(config: Config): void;
  /**
   * Resolves once every live worker has applied every message sent before (matcher, reload), so a
   * list or allowlist change the API reports done is in effect for the next query.
   */
  synced(): Promise<void>;
  /** Fresh numbers from every live worker (request/response; a worker not answering in time is left out). */
  snapshot(): Promise<WorkerSnapshot[]>;
  /** Bytes of the current matcher image (what each worker holds for the lists). */
  readonly imageBytes: number;
  /** Drains and ends every worker; no respawn after this. */
  close(): Promise<void>;
}

interface Slot {
  readonly workerId: number;
  worker: Worker | undefined;
  ready: boolean;
  starts: number;
  startedAt: number;
  backoffMs: number;
  respawnTimer: NodeJS.Timeout | undefined;
  /** Generations of image files sent to this worker and not yet read by it. */
  readonly reading: Set<number>;
}

export async function startWorkerPool(options: WorkerPoolOptions): Promise<WorkerPool> {
  const { log, events, addOutcomes } = options;
  const listen = await reservePorts(options.config.dns.listen);
  let config: Config = { ...options.config, dns: { ...options.config.dns, listen } };
  const imageDir = prepareImageDir(config.dataDir);
  let generation = 0;
  /** Image files written and not yet removed, by generation. */
  const imageFiles = new Map<number, string>();
  /** Writes the matcher's image file for the workers (image-file.ts). */
  const publish = (matcher: DomainMatcher): MatcherImageRef => {
    const built = createMatcherImage(matcher);
    if (built === undefined) throw new PoolsinkError('ERR_WORKER', 'the lists cannot be sent to worker processes');
    const ref = writeImageFile(imageDir, ++generation, built);
    imageFiles.set(ref.generation, ref.file);
    return ref;
  };
  let image = publish(options.matcher);
  let ipLists = options.ipLists;
  let closing = false;
  let nextRequest = 1;
  const waiting = new Map<number, Map<number, (snapshot: WorkerSnapshot) => void>>();
  const syncing = new Map<number, Map<number, () => void>>();
  const exec = workerScript();
  let bound: { udp: readonly HostPort[]; tcp: readonly HostPort[] } | undefined;

  const slots: Slot[] = Array.from({ length: options.count }, (_, workerId) => ({
    workerId,
    worker: undefined,
    ready: false,
    starts: 0,
    startedAt: 0,
    backoffMs: RESPAWN_MIN_MS,
    respawnTimer: undefined,
    reading: new Set<number>(),
  }));

  function post(slot: Slot, message: ToWorker): void {
    const { worker } = slot;
    if (worker?.isConnected() !== true) return;
    if (message.t === 'start' || message.t === 'matcher') slot.reading.add(message.image.generation);
    worker.send(message);
  }

  /** Removes the image files no worker needs any more (superseded and read by every worker sent them). */
  function removeReadImages(): void {
    for (const [fileGeneration, file] of imageFiles) {
      if (fileGeneration === image.generation || slots.some((slot) => slot.reading.has(fileGeneration))) continue;
      imageFiles.delete(fileGeneration);
      try {
        unlinkSync(file);
      } catch (err: unknown) {
        log.warn({ err, file }, 'could not remove a list image file');
      }
    }
  }

  /** Forks the slot's worker; resolves when it serves, rejects if it fails before that. */
  function fork(slot: Slot): Promise<void> {
    cluster.setupPrimary({ exec, args: [], execArgv: [], serialization: 'advanced' });
    const worker = cluster.fork();
    slot.worker = worker;
    slot.ready = false;
    slot.starts++;
    slot.startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      let failure: PoolsinkError | undefined;
      worker.on('message', (message: FromWorker) => {
        switch (message.t) {
          case 'hello':
            // Not at 'online': that comes before the worker's script listens for messages.
            post(slot, { t: 'start', workerId: slot.workerId, config, image, ipLists });
            return;
          case 'log':
            relayLogLine(log, message.line, `worker ${slot.workerId}`);
            return;
          case 'events':
            for (const event of message.events) events.record(event);
            return;
          case 'outcomes':
            addOutcomes(message.deltas);
            return;
          case 'history':
            options.recordHistory?.(message.batch);
            return;
          case 'snapshot':
            waiting.get(message.id)?.get(slot.workerId)?.(message.snapshot);
            return;
          case 'ready':
            slot.ready = true;
            bound ??= { udp: message.udp, tcp: message.tcp };
            resolve();
            return;
          case 'failed':
            failure = new PoolsinkError(isErrorCode(message.code) ? message.code : 'ERR_WORKER', message.message);
            return;
          case 'synced':
            syncing.get(message.id)?.get(slot.workerId)?.();
            return;
          case 'imageRead':
            slot.reading.delete(message.generation);
            removeReadImages();
            return;
          case 'drained':
            return;
        }
      });
      worker.on('exit', (code, signal) => {
        const wasReady = slot.ready;
        slot.ready = false;
        slot.reading.clear();
        removeReadImages();
        if (slot.worker === worker) slot.worker = undefined;
        if (!wasReady) {
          reject(
            failure ??
              new PoolsinkError(
                'ERR_WORKER',
                `resolver worker ${slot.workerId} exited (${signal ?? code}) before serving`,
              ),
          );
        }
        if (closing) return;
        log.warn(
          { worker: slot.workerId, pid: worker.process.pid, code, signal },
          'resolver worker ended; starting it again',
        );
        respawn(slot);
      });
    });
  }

  function respawn(slot: Slot): void {
    if (Date.now() - slot.startedAt > RESPAWN_RESET_MS) slot.backoffMs = RESPAWN_MIN_MS;
    const delayMs = slot.backoffMs;
    slot.backoffMs = Math.min(slot.backoffMs * 2, RESPAWN_MAX_MS);
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = undefined;
      if (closing) return;
      fork(slot).catch((err: unknown) => log.error({ err, worker: slot.workerId }, 'resolver worker failed to start'));
    }, delayMs);
    slot.respawnTimer.unref();
  }

  async function close(): Promise<void> {
    closing = true;
    await Promise.all(
      slots.map(async (slot) => {
        clearTimeout(slot.respawnTimer);
        const { worker } = slot;
        if (worker === undefined || worker.isDead()) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        post(slot, { t: 'drain' });
        const { upstreamTimeoutMs, upstreams } = config;
        const limitMs = upstreamTimeoutMs * (upstreams.length + 1) + 500 + DRAIN_GRACE_MS;
        const timer = setTimeout(() => worker.process.kill('SIGKILL'), limitMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    rmSync(imageDir, { recursive: true, force: true });
  }

  try {
    await Promise.all(slots.map((slot) => fork(slot)));
  } catch (err: unknown) {
    await close();
    throw err;
  }
  const addresses = bound ?? { udp: [], tcp: [] };

  return {
    udp: addresses.udp,
    tcp: addresses.tcp,
    workers: () =>
      slots.flatMap((slot) =>
        slot.worker?.process.pid !== undefined && slot.ready
          ? [{ workerId: slot.workerId, pid: slot.worker.process.pid, starts: slot.starts }]
          : [],
      ),
    setMatcher(matcher) {
      image = publish(matcher);
      for (const slot of slots) post(slot, { t: 'matcher', image });
      removeReadImages();
    },
    setIpLists(lists) {
      ipLists = lists;
      for (const slot of slots) post(slot, { t: 'ipLists', lists });
    },
    reload(next) {
      config = { ...next, dns: { ...next.dns, listen } };
      for (const slot of slots) post(slot, { t: 'reload', config });
    },
    get imageBytes() {
      return imageRefBytes(image);
    },
    async synced() {
      const id = nextRequest++;
      const replies = new Map<number, () => void>();
      syncing.set(id, replies);
      const asked = slots.filter((slot) => slot.ready && slot.worker?.isConnected() === true);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SNAPSHOT_TIMEOUT_MS);
      });
      await Promise.all(
        asked.map((slot) => {
          const answer = new Promise<void>((resolve) => replies.set(slot.workerId, resolve));
          post(slot, { t: 'sync', id });
          return Promise.race([answer, timedOut]);
        }),
      );
      clearTimeout(timer);
      syncing.delete(id);
    },
    async snapshot() {
      const id = nextRequest++;
      const replies = new Map<number, (snapshot: WorkerSnapshot) => void>();
      waiting.set(id, replies);
      const asked = slots.filter((slot) => slot.ready && slot.worker?.isConnected() === true);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), SNAPSHOT_TIMEOUT_MS);
      });
      const answers = await Promise.all(
        asked.map((slot) => {
          const answer = new Promise<WorkerSnapshot>((resolve) => replies.set(slot.workerId, resolve));
          post(slot, { t: 'snapshot', id });
          return Promise.race([answer, timedOut]);
        }),
      );
      clearTimeout(timer);
      waiting.delete(id);
      return answers.filter((answer): answer is WorkerSnapshot => answer !== undefined);
    },
    close,
  };
}
