/**
 * The block-log writer thread's entry point (a worker_threads Worker started by writer-thread.ts).
 * It opens its own connection to the database, runs the event writer and the pruner there, and
 * publishes their counters into shared memory. SQLite work here never pauses DNS answers, so
 * transactions can be large: on a big log each one dirties about one index page per distinct host
 * and name, whatever its size, and larger ones write far fewer pages per event.
 *
 * Logs go back to the DNS thread as pino lines (message 'log'), to its logger and destination.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { applyListStoreWrite, createListStore } from './list-store.js';
import { createPoolIpStore } from './pool-ip-store.js';
import { applyMetaWrite } from './database-identity.js';
import { errorMessage, isPoolsinkError } from '../errors.js';
import { openStoreConnection, type StoreConnection } from './database.js';
import { decodeEvents } from './event-codec.js';
import { createEventWriter, type InProcessEventWriter } from './event-writer.js';
import { createPruner } from './retention.js';
import { createIdentitySnapshot } from '../inventory/identity-snapshot.js';
import { createThreadLogger } from './worker-support.js';
import { EVENTS_DROPPED_OUTCOME } from './schema.js';
import { createWriterNotifier } from '../notify/writer-notifier.js';
import { SIGNAL, STAT, type FromWriter, type ToWriter, type WriterThreadData } from './writer-protocol.js';
import { startWriterIncidents } from '../incidents/writer-incidents.js';
import { createWriterLogins } from '../honeypot/writer-logins.js';
import { createWriterHistory } from './history-worker.js';

/**
 * The writer thread's nice value. On Linux, nice is per thread, and setPriority(0, ...) from a
 * worker changes only that thread: when the DNS thread and this one share a busy core, DNS answers
 * come first and the log catches up with what is left (or drops and counts past its buffer).
 */
const WRITER_NICE = 10;

/** How often the counters in shared memory are refreshed besides after each message. */
const PUBLISH_INTERVAL_MS = 50;

function post(port: NonNullable<typeof parentPort>, message: FromWriter): void {
  port.postMessage(message);
}

function run(port: NonNullable<typeof parentPort>, data: WriterThreadData): void {
  const { settings } = data;
  const stats = new Float64Array(data.stats);
  const signals = new Int32Array(data.signals);
  // Counters are published before each relayed log line, so a DNS-thread reader that has seen a
  // line ("write failed ...") sees the counters that go with it ("unhealthy").
  let beforeLog = (): void => {};
  const log = createThreadLogger(settings.logLevel, (line) => {
    beforeLog();
    post(port, { kind: 'log', line });
  });
  try {
    setPriority(0, Math.max(getPriority(0), WRITER_NICE));
  } catch (err: unknown) {
    log.debug({ err: errorMessage(err) }, 'could not lower the writer thread priority');
  }

  let connection: StoreConnection;
  try {
    connection = openStoreConnection(settings.path, { log, quickCheckMaxBytes: 0, ...settings.sqlite });
  } catch (err: unknown) {
    post(port, {
      kind: 'failed',
      code: isPoolsinkError(err) ? err.code : 'ERR_STORE_OPEN',
      message: errorMessage(err),
    });
    port.close();
    return;
  }
  // Notifications: producers here enqueue into notifier.outbox in their own transactions; the
  // dispatcher delivers from this thread, which owns the connection (src/notify/dispatcher.ts).
  const notifier = createWriterNotifier({
    connection,
    sinks: settings.notify ?? [],
    log,
    onStatus: (sinks) => post(port, { kind: 'notifyStatus', sinks }),
  });
  // Who is at which address, as the DNS thread last posted it: each event takes its identity here.
  const identities = createIdentitySnapshot();
  let writer: InProcessEventWriter;
  // Incidents (src/incidents/): derived from each batch in its transaction; their notifications go
  // into the outbox in that same transaction.
  let incidents: ReturnType<typeof startWriterIncidents>;
  try {
    incidents = startWriterIncidents({
      connection,
      log,
      settings: settings.incidents,
      outbox: notifier.outbox,
      identityFor: (clientIp) => identities.identityFor(clientIp),
    });
    writer = createEventWriter({
      ...(incidents.tracker !== undefined ? { batchHook: incidents.tracker } : {}),
      connection,
      log,
      flushIntervalMs: settings.flushIntervalMs,
      batchSize: settings.batchSize,
      maxBatchSize: settings.maxBatchSize,
      maxRollupKeys: settings.maxRollupKeys,
      maxBuffered: settings.maxBuffered,
      writeShare: 1,
      ...(settings.maxNamesPerHost !== undefined ? { maxNamesPerHost: settings.maxNamesPerHost } : {}),
    });
  } catch (err: unknown) {
    void notifier.close();
    connection.close();
    post(port, {
      kind: 'failed',
      code: isPoolsinkError(err) ? err.code : 'ERR_STORE_WRITE',
      message: errorMessage(err),
    });
    port.close();
    return;
  }
  // Runtime lists, allowlist entries and list fetch state, written here rather than on the DNS
  // thread, where they would wait for this thread's transaction.
  const listStore = createListStore(connection);
  const minerLogins = createWriterLogins({
    connection,
    log,
    retentionDays: settings.retentionDays,
    tracker: incidents.tracker,
    identityFor: (clientIp) => identities.identityFor(clientIp),
  });
  // The query history (retro-hunt): its batches, hunts and pruning (history-worker.ts).
  const history = createWriterHistory({
    connection,
    log,
    settings: settings.history,
    incidents: incidents.tracker,
    identityFor: (ip) => identities.identityFor(ip),
  });
  const poolIpStore = createPoolIpStore(connection);
  const pruner = createPruner({
    ...(history.prune !== undefined ? { alsoPrune: history.prune } : {}),
    connection,
    log,
    retentionDays: settings.retentionDays,
    maxEvents: settings.maxEvents,
    ...(settings.maxNamesPerHost !== undefined ? { maxNamesPerHost: settings.maxNamesPerHost } : {}),
    ...(settings.pruneIntervalMs !== undefined ? { intervalMs: settings.pruneIntervalMs } : {}),
  });

  let droppedSeen = 0;

  let received = 0;
  let lastError: string | undefined;
  let generation = connection.generation;

  const errorText = new Uint8Array(data.errorText);
  const encoder = new TextEncoder();

  /**
   * Buffered is written before received, as in the 'events' handler, and the error text before
   * healthy, so the DNS thread never sees "unhealthy" without its reason.
   */
  function publish(): void {
    const writerStats = writer.stats;
    if (writerStats.lastError !== lastError) {
      lastError = writerStats.lastError;
      stats[STAT.errorLength] = lastError === undefined ? -1 : encoder.encodeInto(lastError, errorText).written;
    }
    stats[STAT.buffered] = writerStats.buffered;
    stats[STAT.written] = writerStats.written;
    stats[STAT.dropped] = writerStats.dropped;
    if (writerStats.dropped > droppedSeen) {
      notifier.noteDropped(writerStats.dropped - droppedSeen, Date.now());
      droppedSeen = writerStats.dropped;
    }
    stats[STAT.writeErrors] = writerStats.writeErrors;
    stats[STAT.healthy] = writerStats.healthy ? 1 : 0;
    stats[STAT.received] = received;
    if (connection.generation !== generation) {
      generation = connection.generation;
      post(port, { kind: 'reopened' });
    }
  }

  function signal(slot: number, seq: number): void {
    Atomics.store(signals, slot, seq);
    Atomics.notify(signals, slot);
  }

  beforeLog = publish;
  const publisher = setInterval(publish, PUBLISH_INTERVAL_MS);
  let closing = false;

  async function close(seq: number): Promise<void> {
    closing = true;
    clearInterval(publisher);
    await pruner.stop();
    incidents.stop();
    await notifier.close();
    writer.close();
    publish();
    connection.close();
    signal(SIGNAL.closed, seq);
    port.close();
  }

  port.on('message', (message: ToWriter) => {
    if (closing) return;
    switch (message.kind) {
      case 'events': {
        const events = decodeEvents(message.batch);
        const nowMs = Date.now();
        for (const event of events) {
          const identity = identities.identityFor(event.clientIp);
          if (identity === undefined) identities.noteMiss(event.clientIp, nowMs);
          writer.record(identity === undefined ? event : { ...event, identity });
        }
        const misses = identities.takeMisses();
        if (misses.length > 0) post(port, { kind: 'identityMisses', clientIps: misses });
        received += events.length;
        // Buffered before received: the DNS thread reads sent - received + buffered, which may
        // then count these events twice for a moment, never zero times (the bound must hold).
        stats[STAT.buffered] = writer.stats.buffered;
        stats[STAT.received] = received;
        break;
      }
      case 'outcomes':
        writer.addOutcomes(message.deltas, message.atMs);
        break;
      case 'dropped':
        writer.addOutcomes({ [EVENTS_DROPPED_OUTCOME]: message.count }, message.atMs);
        writer.addTallies(message.tallies);
        incidents.tracker?.addTallies(message.tallies);
        stats[STAT.droppedMessages] = (stats[STAT.droppedMessages] ?? 0) + 1;
        notifier.noteDropped(message.count, message.atMs);
        break;
      case 'notify':
        notifier.enqueue(message.notification);
        break;
      case 'flush':
        writer.flush();
        publish();
        signal(SIGNAL.flushed, message.seq);
        break;
      case 'listStore':
        try {
          applyListStoreWrite(listStore, message.write);
          post(port, { kind: 'listStored', id: message.id });
        } catch (err: unknown) {
          post(port, {
            kind: 'listStored',
            id: message.id,
            code: isPoolsinkError(err) ? err.code : 'ERR_STORE_WRITE',
            message: errorMessage(err),
          });
        }
        break;
      case 'poolIps':
        try {
          poolIpStore.apply(message.write);
          post(port, { kind: 'listStored', id: message.id });
        } catch (err: unknown) {
          post(port, { kind: 'listStored', id: message.id, code: 'ERR_STORE_WRITE', message: errorMessage(err) });
        }
        break;
      case 'meta':
        try {
          applyMetaWrite(connection.db, message.write);
          post(port, { kind: 'listStored', id: message.id });
        } catch (err: unknown) {
          post(port, { kind: 'listStored', id: message.id, code: 'ERR_STORE_WRITE', message: errorMessage(err) });
        }
        break;
      case 'incident':
        post(port, { kind: 'incidentChanged', id: message.id, ...incidents.change(message.change) });
        break;
      case 'close':
        void close(message.seq);
        break;
      case 'identities':
        identities.apply(message.update);
        break;
      case 'minerLogin':
        // The host's buffered lookups first, so the incident they open is the one the login joins.
        writer.flush();
        minerLogins.record(message.login);
        break;
      case 'history':
      case 'retroHunt':
        history.handle(message, (reply) => post(port, reply));
        break;
    }
  });
  pruner.start();
  incidents.start();
  publish();
  post(port, { kind: 'ready' });
}

if (parentPort !== null) run(parentPort, workerData as WriterThreadData);
