/**
 * The writer thread's requests that wait for a reply (writer-thread.ts): list-store, pool-IP and
 * meta writes, operator incident changes and retro-hunts. Each gets an id from the worker channel
 * (worker-channel.ts); the thread's reply settles it, with the thread's PoolsinkError on failure,
 * or ERR_STORE_WRITE if the thread ends first or the block log is closed.
 */
import type { Worker } from 'node:worker_threads';
import { PoolsinkError, isErrorCode } from '../errors.js';
import type { IncidentChange } from '../incidents/incident-state.js';
import type { MetaWrite } from './database-identity.js';
import type { RetroHuntRequest, RetroHuntResult } from './history-protocol.js';
import type { ListStoreWrite } from './list-store.js';
import type { PoolIpWrite } from './pool-ip-store.js';
import { createWorkerChannel } from './worker-channel.js';
import type { FromWriter, ToWriter } from './writer-protocol.js';

/** The thread's replies to requests. */
export type WriterRequestReply = Extract<FromWriter, { kind: 'listStored' | 'incidentChanged' | 'retroHunted' }>;

export interface WriterRequestsOptions {
  /** Posts (or holds) a request for the thread. */
  readonly send: (message: ToWriter) => void;
  readonly isClosed: () => boolean;
}

export interface WriterRequests {
  writeListStore(write: ListStoreWrite): Promise<void>;
  writePoolIps(write: PoolIpWrite): Promise<void>;
  writeMeta(write: MetaWrite): Promise<void>;
  changeIncident(change: IncidentChange): Promise<void>;
  retroHunt(request: RetroHuntRequest): Promise<RetroHuntResult>;
  /** Request `id` was posted to `worker`: it fails if that thread ends before it replies. */
  sentTo(id: number, worker: Worker): void;
  /** Settles the request a reply answers. */
  settle(reply: WriterRequestReply): void;
  /** Fails the requests posted to `worker` (it ended). */
  failSentTo(worker: Worker, reason: string): void;
  /** Fails every request waiting. */
  failAll(reason: string): void;
}

export function createWriterRequests(options: WriterRequestsOptions): WriterRequests {
  const { send, isClosed } = options;
  const channel = createWorkerChannel('ERR_STORE_WRITE');

  function request<T>(message: (id: number) => ToWriter): Promise<T> {
    if (isClosed()) return Promise.reject(new PoolsinkError('ERR_STORE_WRITE', 'the block log is closed'));
    const { id, reply } = channel.open<T>();
    send(message(id));
    return reply;
  }

  return {
    writeListStore: (write) => request((id) => ({ kind: 'listStore', id, write })),
    writePoolIps: (write) => request((id) => ({ kind: 'poolIps', id, write })),
    writeMeta: (write) => request((id) => ({ kind: 'meta', id, write })),
    changeIncident: (change) => request((id) => ({ kind: 'incident', id, change })),
    retroHunt: (retroHunt) => request((id) => ({ kind: 'retroHunt', id, request: retroHunt })),
    sentTo: (id, worker) => channel.sentTo(id, worker),
    settle(reply) {
      if (reply.code === undefined) channel.resolve(reply.id, reply.kind === 'retroHunted' ? reply.result : undefined);
      else {
        const code = isErrorCode(reply.code) ? reply.code : 'ERR_STORE_WRITE';
        channel.reject(reply.id, new PoolsinkError(code, reply.message ?? ''));
      }
    },
    failSentTo: (worker, reason) => {
      channel.failSentTo(worker, reason);
    },
    failAll: (reason) => channel.failAll(reason),
  };
}
