/**
 * What the store's worker threads (block-log writer, API reader) share: where their script is, how
 * one starts (startStoreWorker), and logging across the thread boundary: a worker logs with its own pino logger whose lines are
 * handed to `send` (which posts them), and the DNS thread relays each line through its own logger,
 * at the line's level, tagged with the thread it came from.
 */
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import { PoolsinkError, errorMessage, isErrorCode, type ErrorCode } from '../errors.js';

/** Pino fields the DNS thread's logger adds again itself. */
const OWN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** A logger for a worker: every line goes to `send`, synchronously, as pino JSON. */
export function createThreadLogger(level: string, send: (line: string) => void): Logger {
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done): void {
      send(chunk.toString());
      done();
    },
  });
  return pino({ level }, destination);
}

/** Logs one pino line from a worker through `log`, at its level, with `thread` added. */
export function relayLogLine(log: Logger, line: string, thread: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    log.warn({ line, thread }, 'unreadable log line from a worker thread');
    return;
  }
  const level = typeof record['level'] === 'number' ? log.levels.labels[record['level']] : undefined;
  const fields: Record<string, unknown> = { thread };
  for (const [key, value] of Object.entries(record)) if (!OWN_FIELDS.has(key)) fields[key] = value;
  const msg = typeof record['msg'] === 'string' ? record['msg'] : '';
  const method =
    level === 'fatal' || level === 'error' ? 'error' : level === 'warn' || level === 'info' ? level : 'debug';
  log[method](fields, msg);
}

/** The compiled script of a store worker (`file` in this folder); ERR_STORE_OPEN when it is missing. */
export function workerScript(file: string, what: string): URL {
  const sibling = new URL(`./${file}`, import.meta.url);
  if (existsSync(sibling)) return sibling;
  // Running from the TypeScript sources (tests): the worker must be the compiled one.
  const built = new URL(`../../dist/store/${file}`, import.meta.url);
  if (existsSync(built)) return built;
  throw new PoolsinkError(
    'ERR_STORE_OPEN',
    `the ${what}'s script ${fileURLToPath(sibling)} is missing: run \`npm run build\``,
  );
}

/** What every store worker says besides its own messages. */
type StartMessage =
  | { readonly kind: 'ready' }
  /** The database could not be opened: the thread ends after this. */
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  /** One pino line, for the DNS thread's logger. */
  | { readonly kind: 'log'; readonly line: string };

export interface StoreWorkerOptions<M> {
  readonly script: URL;
  readonly workerData: unknown;
  readonly log: Logger;
  /** 'writer' or 'reader': tags relayed log lines and names the thread in errors. */
  readonly thread: string;
  /** The code of a start that fails with an uncaught error in the thread. */
  readonly errorCode: ErrorCode;
  /** Called with the thread as soon as it exists (tests stop one through it). */
  readonly onThread?: ((worker: Worker) => void) | undefined;
  /** The thread's own messages. */
  readonly onMessage: (message: Exclude<M, StartMessage>) => void;
  /** The thread ended after it was ready. */
  readonly onExit: (code: number) => void;
}

export interface StoreWorker {
  readonly worker: Worker;
  /** Resolves at 'ready'; rejects with the thread's PoolsinkError if it ends first. */
  readonly ready: Promise<void>;
  /** Resolves when the thread has ended, whenever that is. */
  readonly exited: Promise<void>;
}

/** Starts a store worker, unref'd: it never keeps the process alive unless its owner refs it. */
export function startStoreWorker<M extends { readonly kind: string }>(options: StoreWorkerOptions<M>): StoreWorker {
  const { log, thread } = options;
  const worker = new Worker(options.script, { workerData: options.workerData });
  worker.unref();
  options.onThread?.(worker);
  let started = false;
  let failure: PoolsinkError | undefined;
  let markExited!: () => void;
  const exited = new Promise<void>((resolve) => (markExited = resolve));
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: M | StartMessage) => {
      switch (message.kind) {
        case 'ready':
          started = true;
          resolve();
          return;
        case 'failed': {
          const { code, message: text } = message as Extract<StartMessage, { kind: 'failed' }>;
          failure = new PoolsinkError(isErrorCode(code) ? code : 'ERR_STORE_OPEN', text);
          return;
        }
        case 'log':
          relayLogLine(log, (message as Extract<StartMessage, { kind: 'log' }>).line, thread);
          return;
        default:
          options.onMessage(message as Exclude<M, StartMessage>);
      }
    });
    worker.on('error', (err: unknown) => {
      failure ??= new PoolsinkError(options.errorCode, `block-log ${thread} thread failed: ${errorMessage(err)}`, {
        cause: err,
      });
      log.error({ err: errorMessage(err) }, `block-log ${thread} thread failed`);
    });
    worker.on('exit', (code: number) => {
      markExited();
      if (started) options.onExit(code);
      else
        reject(
          failure ??
            new PoolsinkError(
              'ERR_STORE_OPEN',
              `block-log ${thread} thread exited with code ${code} before it was ready`,
            ),
        );
    });
  });
  return { worker, ready, exited };
}
