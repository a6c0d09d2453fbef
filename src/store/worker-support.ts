/**
 * What the store's worker threads (block-log writer, API reader) share: where their script is, and
 * logging across the thread boundary: a worker logs with its own pino logger whose lines are
 * handed to `send` (which posts them), and the DNS thread relays each line through its own logger,
 * at the line's level, tagged with the thread it came from.
 */
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { PoolsinkError } from '../errors.js';

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
  const method = level === 'fatal' || level === 'error' ? 'error' : level === 'warn' || level === 'info' ? level : 'debug';
  log[method](fields, msg);
}

/** The compiled script of a store worker (`file` in this folder); ERR_STORE_OPEN when it is missing. */
export function workerScript(file: string, what: string): URL {
  const sibling = new URL(`./${file}`, import.meta.url);
  if (existsSync(sibling)) return sibling;
  // Running from the TypeScript sources (tests): the worker must be the compiled one.
  const built = new URL(`../../dist/store/${file}`, import.meta.url);
  if (existsSync(built)) return built;
  throw new PoolsinkError('ERR_STORE_OPEN', `the ${what}'s script ${fileURLToPath(sibling)} is missing: run \`npm run build\``);
}
