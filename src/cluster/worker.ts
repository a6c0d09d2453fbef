/**
 * One resolver process of `dns.workers` > 1: waits for the primary's start message (the
 * configuration and the matcher image), opens the shared DNS listeners through node:cluster and
 * answers queries with the same code as the single process (dns-serving.ts). What it does not
 * own, it sends to the primary: block events (batched), outcome counts, log lines. The block log,
 * list fetching, notifications and the admin API stay in the primary.
 */
import { Registry } from 'prom-client';
import { createIpBlocklist } from '../blocklist/ip-blocklist.js';
import { matcherFromImage } from '../blocklist/matcher-image.js';
import type { Config } from '../config/types.js';
import type { BlockEvent } from '../dns/block-event.js';
import { createDnsCore, startDnsListeners } from '../dns-serving.js';
import { errorMessage, isPoolsinkError } from '../errors.js';
import { createReloader } from '../reload.js';
import { createStartedResources } from '../started-resources.js';
import { createHistoryRecorder } from '../store/history-recorder.js';
import { shipOutcomes } from '../store/outcome-shipping.js';
import { createThreadLogger } from '../store/worker-support.js';
import { EVENT_BATCH, type FromWorker, type ToWorker } from './messages.js';
import { readImageFile, type MatcherImageRef } from './image-file.js';
import { takeSnapshot } from './snapshot.js';

function send(message: FromWorker, done?: () => void): void {
  if (process.connected && process.send !== undefined) process.send(message, undefined, undefined, () => done?.());
  else done?.();
}

/**
 * Block events go to the primary in batches: everything recorded in one event-loop turn (a burst
 * of datagrams read at once) is one IPC message, sent right after that turn; EVENT_BATCH caps one
 * message. So events reach the primary about as soon as their answers leave, without a message
 * per event under load.
 */
function createEventBatcher(): { record(event: BlockEvent): void; stop(): void } {
  let batch: BlockEvent[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    scheduled = undefined;
    if (batch.length === 0) return;
    send({ t: 'events', events: batch });
    batch = [];
  };
  return {
    record(event) {
      batch.push(event);
      if (batch.length >= EVENT_BATCH) {
        clearImmediate(scheduled);
        flush();
      } else scheduled ??= setImmediate(flush);
    },
    stop() {
      clearImmediate(scheduled);
      flush();
    },
  };
}

/** The matcher of an image file the primary wrote; tells the primary the file is read. */
function matcherOf(ref: MatcherImageRef): ReturnType<typeof matcherFromImage> {
  const matcher = matcherFromImage(readImageFile(ref));
  send({ t: 'imageRead', generation: ref.generation });
  return matcher;
}

async function serve(start: Extract<ToWorker, { t: 'start' }>): Promise<void> {
  const { workerId, config } = start;
  const log = createThreadLogger(config.log.level, (line) => send({ t: 'log', line })).child({ worker: workerId });
  const resources = createStartedResources(log);
  const events = createEventBatcher();
  resources.add('event batches', () => events.stop());
  // The query history (history.enabled): this worker's own recorder; the primary hands its batches to the writer.
  const history = config.history.enabled
    ? createHistoryRecorder({
        maxPerHour: config.history.maxPerHour,
        ship: (batch) => send({ t: 'history', batch }),
        log,
      })
    : undefined;
  resources.add('query history', () => history?.close());
  const core = createDnsCore({
    config,
    log,
    matcher: matcherOf(start.image),
    ipBlocklist: createIpBlocklist(start.ipLists),
    events,
    resources,
    history,
  });
  const stopOutcomes = shipOutcomes(
    () => core.resolver.counters,
    (deltas) => send({ t: 'outcomes', deltas }),
  );
  resources.add('outcome counts', stopOutcomes);
  const histograms = new Registry();
  core.latency.register(histograms);
  let next: Config = config;
  const reloader = createReloader({
    load: () => next,
    started: config,
    token: '',
    scope: 'worker',
    targets: {
      log,
      acl: core.acl,
      resolver: core.resolver,
      upstream: core.upstream,
      rateLimit: core.rateLimit,
      // Lists, inventory and the admin token belong to the primary.
      lists: { applyConfig: async () => ({ added: [], changed: [], removed: [], allowlistChanged: false }) },
      hostIdentity: { replaceInventory: async () => undefined },
    },
  });
  let listeners: Awaited<ReturnType<typeof startDnsListeners>>;
  try {
    listeners = await startDnsListeners({ config, core, log, resources });
  } catch (err: unknown) {
    await resources.unwind();
    throw err;
  }
  let draining = false;
  let reloading: Promise<unknown> = Promise.resolve();
  process.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'matcher':
        core.resolver.setMatcher(matcherOf(message.image));
        return;
      case 'ipLists':
        core.resolver.setIpBlocklist(createIpBlocklist(message.lists));
        return;
      case 'reload':
        next = message.config;
        reloading = reloader.reload();
        return;
      case 'sync':
        // Messages are handled in order and a matcher swap at once: only a reload may still run.
        void reloading.finally(() => send({ t: 'synced', id: message.id }));
        return;
      case 'snapshot':
        void takeSnapshot(workerId, core, histograms).then((snapshot) =>
          send({ t: 'snapshot', id: message.id, snapshot }),
        );
        return;
      case 'drain':
        if (draining) return;
        draining = true;
        void listeners
          .drain(reloader.config)
          .then(() => resources.unwind())
          .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'worker stop failed'))
          .finally(() => send({ t: 'drained' }, () => process.exit(0)));
        return;
      default:
        return;
    }
  });
  send({ t: 'ready', udp: listeners.udp, tcp: listeners.tcp });
}

/** The entry of a cluster worker process (worker-entry.ts). */
export function runClusterWorker(): void {
  // The primary is gone (crashed or killed): nothing would read this process's events.
  process.on('disconnect', () => process.exit(0));
  // A stop signal sent to the whole process group (Ctrl-C, systemd's control-group kill) reaches
  // the workers too: the primary drains them, so a worker leaves it to the primary.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);
  process.once('message', (message: ToWorker) => {
    if (message.t !== 'start') return;
    serve(message).catch((err: unknown) => {
      const code = isPoolsinkError(err) ? err.code : 'ERR_WORKER';
      send({ t: 'failed', code, message: errorMessage(err) }, () => process.exit(1));
    });
  });
  send({ t: 'hello' });
}
