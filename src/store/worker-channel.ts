/**
 * Requests to a store worker thread and their replies, matched by id: the reader thread's queries
 * (reader-thread.ts) and the writer thread's list-store writes (writer-thread.ts). The owner posts
 * each message itself; the channel allocates ids, holds what waits for a reply, settles it when the
 * reply comes, times it out, and fails what a thread took with it when it ended. A reply to a
 * request that is no longer waiting (timed out, or failed) is ignored.
 */
import type { Worker } from 'node:worker_threads';
import { PoolsinkError, type ErrorCode } from '../errors.js';

export interface RequestTimeout {
  readonly timeoutMs: number;
  /** The message of the error the request fails with. */
  readonly reason: string;
  /** Called when the request times out, before it fails. */
  readonly onTimeout?: () => void;
}

export interface OpenRequest<T> {
  readonly id: number;
  /** Settles with the reply, or rejects (timeout, thread ended, an error reply). */
  readonly reply: Promise<T>;
}

export interface WorkerChannel {
  /** A new request, waiting for its reply: post a message with its id. */
  open<T>(timeout?: RequestTimeout): OpenRequest<T>;
  /** Request `id` was posted to `worker`: it fails if that thread ends before it replies. */
  sentTo(id: number, worker: Worker): void;
  /** Request `id` was answered with `value`. */
  resolve(id: number, value: unknown): void;
  /** Request `id` was answered with an error. */
  reject(id: number, err: Error): void;
  /** Fails the requests posted to `worker` (it ended); returns how many. */
  failSentTo(worker: Worker, reason: string): number;
  /** Fails every request waiting, posted or not. */
  failAll(reason: string): void;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout | undefined;
  /** The thread it was posted to; undefined while not yet posted. */
  worker: Worker | undefined;
}

/** A channel whose timeouts and failures are PoolsinkErrors with `errorCode`. */
export function createWorkerChannel(errorCode: ErrorCode): WorkerChannel {
  const pending = new Map<number, Pending>();
  let lastId = 0;

  /** Takes request `id` out of waiting: whatever settles it next is the only thing that does. */
  function take(id: number): Pending | undefined {
    const request = pending.get(id);
    if (request === undefined) return undefined;
    pending.delete(id);
    clearTimeout(request.timer);
    return request;
  }

  return {
    open<T>(timeout?: RequestTimeout): OpenRequest<T> {
      lastId += 1;
      const id = lastId;
      const reply = new Promise<T>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        if (timeout !== undefined) {
          timer = setTimeout(() => {
            if (take(id) === undefined) return;
            timeout.onTimeout?.();
            reject(new PoolsinkError(errorCode, timeout.reason));
          }, timeout.timeoutMs);
          timer.unref();
        }
        // The worker replies to each request with the value its kind promises (reader-worker.ts,
        // writer-worker.ts): a structured clone that this thread takes on trust.
        pending.set(id, { resolve: (value) => resolve(value as T), reject, timer, worker: undefined });
      });
      return { id, reply };
    },
    sentTo(id, worker) {
      const request = pending.get(id);
      if (request !== undefined) request.worker = worker;
    },
    resolve(id, value) {
      take(id)?.resolve(value);
    },
    reject(id, err) {
      take(id)?.reject(err);
    },
    failSentTo(worker, reason) {
      let failed = 0;
      for (const [id, request] of pending) {
        if (request.worker !== worker) continue;
        take(id);
        request.reject(new PoolsinkError(errorCode, reason));
        failed += 1;
      }
      return failed;
    },
    failAll(reason) {
      for (const id of [...pending.keys()]) take(id)?.reject(new PoolsinkError(errorCode, reason));
    },
  };
}
