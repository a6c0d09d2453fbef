/**
 * The composition root's record of what it has started, in start order. Unwinding closes them in
 * reverse (the last started first), both when a later start fails and on shutdown, so every
 * resource's cleanup is written once, next to the start it undoes.
 */
import type { Logger } from 'pino';

export interface StartedResources {
  /** Records a started resource; `close` runs when the list unwinds. */
  add(name: string, close: () => void | Promise<void>): void;
  /**
   * Closes every resource in reverse start order, once. A close that fails is logged and the rest
   * still close; the first failure is then thrown.
   */
  unwind(): Promise<void>;
}

interface Started {
  readonly name: string;
  readonly close: () => void | Promise<void>;
}

export function createStartedResources(log: Logger): StartedResources {
  const started: Started[] = [];
  return {
    add(name, close) {
      started.push({ name, close });
    },
    async unwind() {
      let firstError: unknown;
      let failed = false;
      for (let resource = started.pop(); resource !== undefined; resource = started.pop()) {
        try {
          await resource.close();
        } catch (err: unknown) {
          log.error({ err, resource: resource.name }, 'closing failed');
          if (!failed) firstError = err;
          failed = true;
        }
      }
      if (failed) throw firstError;
    },
  };
}

/**
 * Runs `start` with `resources`; if it throws, unwinds what was started before rethrowing, so a
 * failed start leaves nothing open. The start error wins over any close error (those are logged).
 */
export async function startOrUnwind<T>(resources: StartedResources, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err: unknown) {
    try {
      await resources.unwind();
    } catch (_closeErr: unknown) {
      // Already logged by unwind (closeErr is its first failure); the start error is the one to report.
    }
    throw err;
  }
}
