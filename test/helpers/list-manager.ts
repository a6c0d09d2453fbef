/**
 * Builds a list manager for tests: a temp data directory, a SQLite file in it, a local list
 * server, a log that can be read back, and a scheduler whose timers fire only when a test says
 * so. restart() stops the manager and starts a new one on the same directory and database, as a
 * process restart would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createListStore, type ListRecords, type ListStore } from '../../src/store/list-store.js';
import { createListManager, type ListManager, type ListManagerOptions } from '../../src/blocklist/list-manager.js';
import type { DomainMatcher } from '../../src/blocklist/matcher.js';
import type { Scheduler } from '../../src/blocklist/scheduler.js';
import type { ListSpec } from '../../src/blocklist/definition.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';

export interface ManualTimer {
  readonly delayMs: number;
  readonly run: () => void;
  cancelled: boolean;
  fired: boolean;
}

export interface ManualScheduler extends Scheduler {
  readonly timers: ManualTimer[];
  /** Timers neither fired nor cancelled. */
  pending(): ManualTimer[];
  /** Fires every pending timer whose delay passes `filter`. */
  fire(filter?: (timer: ManualTimer) => boolean): number;
}

export function createManualScheduler(): ManualScheduler {
  const timers: ManualTimer[] = [];
  const pending = (): ManualTimer[] => timers.filter((t) => !t.cancelled && !t.fired);
  return {
    timers,
    pending,
    schedule(delayMs, run) {
      const timer: ManualTimer = { delayMs, run, cancelled: false, fired: false };
      timers.push(timer);
      return {
        cancel() {
          timer.cancelled = true;
        },
      };
    },
    fire(filter = () => true) {
      const due = pending().filter(filter);
      for (const timer of due) {
        timer.fired = true;
        timer.run();
      }
      return due.length;
    },
  };
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface ManagerHarness {
  manager: ListManager;
  readonly dir: string;
  readonly dataDir: string;
  readonly scheduler: ManualScheduler;
  readonly logs: LogLine[];
  /** Every matcher handed to onMatcher, oldest first. */
  readonly matchers: DomainMatcher[];
  /** The matcher last handed out: what the resolver would use. */
  current(): DomainMatcher;
  /** Verdict kind of `qname` with the current matcher. */
  verdict(qname: string): string;
  /** Stops the manager and starts a new one on the same data directory and database. */
  restart(overrides?: Partial<ManagerSetup>): Promise<void>;
  close(): Promise<void>;
}

export interface ManagerSetup {
  lists: ListSpec[];
  allowlist: string[];
  fetch: ListManagerOptions['fetch'];
  clock: () => number;
  random: () => number;
  /** Also called with every matcher (e.g. a resolver's setMatcher). */
  onMatcher: (matcher: DomainMatcher) => void;
  /** File name (in the harness directory, which relative sources resolve against) → text, written before start. */
  files: Record<string, string>;
  /** What the manager writes through, given the real store (default: the store itself). */
  records: (store: ListStore) => ListRecords;
}

export function listSpec(name: string, source: string, extra: Partial<ListSpec> = {}): ListSpec {
  return { name, source, format: 'auto', mode: 'block', refreshSec: 3600, maxShrinkPercent: 50, ...extra };
}

export async function startManager(setup: Partial<ManagerSetup> = {}): Promise<ManagerHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-lists-'));
  const dataDir = join(dir, 'data');
  for (const [name, text] of Object.entries(setup.files ?? {})) writeFileSync(join(dir, name), text);
  const logs: LogLine[] = [];
  const matchers: DomainMatcher[] = [];
  let scheduler = createManualScheduler();
  let connection: StoreConnection | undefined;
  let current: Partial<ManagerSetup> = setup;

  const log = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === 'object' && parsed !== null && 'level' in parsed && 'msg' in parsed) {
          const { level, msg } = parsed;
          if (typeof level === 'number' && typeof msg === 'string') logs.push({ ...parsed, level, msg });
        }
      },
    },
  );

  function create(): ListManager {
    connection = openStoreConnection(join(dataDir, 'poolsink.db'), { log: pino({ level: 'silent' }) });
    return createListManager({
      lists: current.lists ?? [],
      allowlist: current.allowlist ?? [],
      baseDir: dir,
      dataDir,
      store: current.records !== undefined ? current.records(createListStore(connection)) : createListStore(connection),
      log,
      onMatcher: (m) => {
        matchers.push(m);
        current.onMatcher?.(m);
      },
      // The list server is on loopback: allowed here, as lists.allowPrivateSources would; files in `dir` too.
      fetch: {
        bodyTimeoutMs: 2000,
        headersTimeoutMs: 2000,
        connectTimeoutMs: 2000,
        allowPrivateSources: ['127.0.0.0/8'],
        ...current.fetch,
      },
      fileSourceDir: dir,
      scheduler,
      filePollMs: 50,
      sliceMs: 4,
      ...(current.clock !== undefined ? { clock: current.clock } : {}),
      ...(current.random !== undefined ? { random: current.random } : {}),
    });
  }

  const harness: ManagerHarness = {
    manager: create(),
    dir,
    dataDir,
    get scheduler() {
      return scheduler;
    },
    logs,
    matchers,
    current() {
      const last = matchers.at(-1);
      if (last === undefined) throw new Error('no matcher handed out yet');
      return last;
    },
    verdict(qname) {
      return harness.current().match(qname).kind;
    },
    async restart(overrides = {}) {
      await harness.manager.stop();
      connection?.close();
      current = { ...current, ...overrides };
      scheduler = createManualScheduler();
      harness.manager = create();
      await harness.manager.start();
    },
    async close() {
      await harness.manager.stop();
      connection?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await harness.manager.start();
  return harness;
}
