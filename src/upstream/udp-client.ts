/**
 * A small set of UDP sockets for one address family, bound to port 0 so the kernel picks a random
 * ephemeral source port. Each query goes out on a socket chosen at random under an ID that is free
 * on that socket, so a spoofer must guess the port as well as the ID (RFC 5452 §9.2). A socket is
 * retired after `maxUses` queries: it takes no new ones, a fresh socket (new port) takes its slot,
 * and it is closed once its pending queries have been released.
 *
 * Replies are dispatched by the socket they arrived on and their ID; checking the source address
 * and the question is the caller's job.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { PoolsinkError, errorMessage } from '../errors.js';
import { readId, writeId } from '../wire/header.js';
import type { RandomIds } from './ids.js';

/** A socket of the set, as handed back to `release`. */
export interface UdpSocketSlot<T> {
  readonly socket: Socket;
  readonly pending: Map<number, T>;
  uses: number;
  retired: boolean;
  closed: boolean;
  readonly closedPromise: Promise<void>;
}

export interface UdpClientEvents<T> {
  /** A reply whose ID is pending on the socket it arrived on. */
  onReply(entry: T, reply: Buffer, from: RemoteInfo): void;
  /** A reply no query on that socket is waiting for (late, spoofed, or garbage). */
  onStray(reply: Buffer, from: RemoteInfo): void;
  /** Sending failed; the entry has already been released. */
  onSendError(entry: T, err: Error): void;
  /** The socket failed (it is retired; its pending queries wait out their timeouts). */
  onSocketError(err: Error): void;
}

export interface UdpClient<T> {
  /**
   * Picks a random socket and an ID free on it, writes the ID into `message`, registers `entry`
   * under it and sends. Returns the socket, to pass to `release` with the ID. Throws a
   * PoolsinkError (ERR_UPSTREAM_FAILED) if no free ID is found or the send throws; the entry is
   * then not registered.
   */
  send(message: Buffer, host: string, port: number, entry: T): UdpSocketSlot<T>;
  /** Stops waiting for a reply to `id` on `slot`. */
  release(slot: UdpSocketSlot<T>, id: number): void;
  /** Sockets open now, including retired ones still draining. */
  readonly openSockets: number;
  close(): Promise<void>;
}

/** Give up finding a free ID after this many draws (only reachable with ~65k pending on a socket). */
const MAX_ID_DRAWS = 64;

export function createUdpClient<T>(options: {
  type: 'udp4' | 'udp6';
  socketCount: number;
  maxUses: number;
  random: RandomIds;
  events: UdpClientEvents<T>;
}): UdpClient<T> {
  const { type, socketCount, maxUses, random, events } = options;
  const slots: (UdpSocketSlot<T> | undefined)[] = new Array<UdpSocketSlot<T> | undefined>(socketCount).fill(undefined);
  const open = new Set<UdpSocketSlot<T>>();

  function openSlot(): UdpSocketSlot<T> {
    const socket = createSocket({ type });
    const slot: UdpSocketSlot<T> = {
      socket,
      pending: new Map(),
      uses: 0,
      retired: false,
      closed: false,
      closedPromise: new Promise<void>((resolve) => socket.once('close', resolve)),
    };
    open.add(slot);
    socket.on('message', (reply, from) => dispatch(slot, reply, from));
    socket.on('error', (err) => {
      events.onSocketError(err);
      retire(slot);
    });
    socket.once('close', () => {
      slot.closed = true;
      open.delete(slot);
    });
    // Sends issued before the bind completes are queued by dgram. Exclusive: in a cluster worker
    // (dns.workers > 1) a shared port-0 socket would hand this worker's replies to another.
    socket.bind({ port: 0, exclusive: true });
    return slot;
  }

  function dispatch(slot: UdpSocketSlot<T>, reply: Buffer, from: RemoteInfo): void {
    const entry = reply.length >= 2 ? slot.pending.get(readId(reply)) : undefined;
    if (entry === undefined) events.onStray(reply, from);
    else events.onReply(entry, reply, from);
  }

  function retire(slot: UdpSocketSlot<T>): void {
    if (slot.retired) return;
    slot.retired = true;
    const index = slots.indexOf(slot);
    if (index >= 0) slots[index] = undefined;
    closeIfDrained(slot);
  }

  function closeIfDrained(slot: UdpSocketSlot<T>): void {
    if (slot.retired && slot.pending.size === 0) closeSlot(slot);
  }

  function closeSlot(slot: UdpSocketSlot<T>): void {
    if (slot.closed) return;
    slot.closed = true;
    try {
      slot.socket.close();
    } catch {
      // Already closed by dgram itself after an error: nothing left to release.
      open.delete(slot);
    }
  }

  function pickSlot(): UdpSocketSlot<T> {
    const index = random.next() % socketCount;
    let slot = slots[index];
    if (slot === undefined) {
      slot = openSlot();
      slots[index] = slot;
    }
    return slot;
  }

  return {
    send(message, host, port, entry) {
      const slot = pickSlot();
      let id = random.next();
      for (let draws = 1; slot.pending.has(id); draws++) {
        if (draws >= MAX_ID_DRAWS)
          throw new PoolsinkError('ERR_UPSTREAM_FAILED', 'no free query ID on the chosen socket');
        id = random.next();
      }
      writeId(message, id);
      slot.pending.set(id, entry);
      slot.uses++;
      try {
        slot.socket.send(message, port, host, (err) => {
          if (err === null || err === undefined || slot.pending.get(id) !== entry) return;
          slot.pending.delete(id);
          events.onSendError(entry, err);
          closeIfDrained(slot);
        });
      } catch (err: unknown) {
        slot.pending.delete(id);
        retire(slot);
        throw new PoolsinkError('ERR_UPSTREAM_FAILED', `udp send failed: ${errorMessage(err)}`, { cause: err });
      }
      if (slot.uses >= maxUses) retire(slot);
      return slot;
    },
    release(slot, id) {
      slot.pending.delete(id);
      closeIfDrained(slot);
    },
    get openSockets() {
      return open.size;
    },
    async close() {
      const closing = [...open];
      for (const slot of closing) {
        slot.retired = true;
        slot.pending.clear();
        closeSlot(slot);
      }
      slots.fill(undefined);
      await Promise.all(closing.map((slot) => slot.closedPromise));
    },
  };
}
