/**
 * Messages to the writer thread (writer-thread.ts): posted to the ready thread at once, or held
 * while none is ready (being restarted) and posted to the next one. It counts what each thread was
 * sent (events for the shared buffer bound, requests so they fail if that thread ends) and the
 * events held here.
 */
import type { Worker } from 'node:worker_threads';
import type { ToWriter } from './writer-protocol.js';
import type { WriterGeneration } from './writer-restarts.js';

export interface WriterMailbox {
  /** Posts `message` to `generation` if it is ready; otherwise holds it. */
  send(generation: WriterGeneration | undefined, message: ToWriter): void;
  /** Posts the held messages to `generation`, the new thread (not 'identities': it gets the whole snapshot). */
  release(generation: WriterGeneration): void;
  /** Events in the held messages. */
  readonly heldEvents: number;
}

/** `onRequestSent` learns which thread took each request that waits for a reply. */
export function createWriterMailbox(onRequestSent: (id: number, worker: Worker) => void): WriterMailbox {
  let held: ToWriter[] = [];
  let heldEvents = 0;

  function send(generation: WriterGeneration | undefined, message: ToWriter): void {
    if (generation?.ready === true) {
      generation.worker.postMessage(message);
      if (message.kind === 'events') generation.sent += message.batch.count;
      else if (
        message.kind === 'listStore' ||
        message.kind === 'incident' ||
        message.kind === 'retroHunt' ||
        message.kind === 'poolIps' ||
        message.kind === 'meta'
      )
        onRequestSent(message.id, generation.worker);
      return;
    }
    held.push(message);
    if (message.kind === 'events') heldEvents += message.batch.count;
  }

  return {
    send,
    release(generation) {
      const waiting = held.filter((message) => message.kind !== 'identities');
      held = [];
      heldEvents = 0;
      for (const message of waiting) send(generation, message);
    },
    get heldEvents() {
      return heldEvents;
    },
  };
}
