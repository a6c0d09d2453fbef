/**
 * UDP sockets for one address family, each connected to one upstream (connect(2)): the kernel then
 * drops datagrams from any other address or port before they reach poolsink, and a send needs no
 * address lookup. Every upstream gets its own set of `socketCount` sockets, each bound to port 0
 * so the kernel picks a random ephemeral source port. Each query goes out on a socket of its
 * upstream chosen at random, under an ID that is free on that socket, so a spoofer must guess the
 * port as well as the ID (RFC 5452 §9.2). A socket is retired after `maxUses` queries: it takes no
 * new ones, a fresh socket (new port) takes its slot, and it is closed once its pending queries
 * have been released.
 *
 * Replies are dispatched by the socket they arrived on and their ID; checking the question is the
 * caller's job (and the source address too, which the kernel has already checked once).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { PoolsinkError, errorMessage } from '../errors.js';
import { literalLookup } from '../net/literal-lookup.js';
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
  /**
   * The socket failed, or a send on it did (it is retired; its pending queries wait out their
   * timeouts). Sends share one callback per socket rather than a closure each, so a failed send is
   * not tied to its query: it times out and the next upstream is tried.
   */
  onSocketError(err: Error): void;
  /**
   * The upstream's host answered a query with ICMP port unreachable (ECONNREFUSED on the connected
   * socket). The socket stays in use; its pending queries wait out their timeouts.
   */
  onUnreachable(err: Error): void;
}

export interface UdpClient<T> {
  /**
   * Picks a random socket connected to host:port and an ID free on it, writes the ID into
   * `message`, registers `entry` under it and sends. Returns the socket, to pass to `release` with
   * the ID. Throws a PoolsinkError (ERR_UPSTREAM_FAILED) if no free ID is found or the send throws;
   * the entry is then not registered.
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

/** The sockets connected to one upstream. */
interface Target<T> {
  readonly host: string;
  readonly port: number;
  readonly slots: (Slot<T> | undefined)[];
}

interface Slot<T> extends UdpSocketSlot<T> {
  readonly target: Target<T>;
  /** The one callback of every send on this socket. */
  readonly onSent: (err: Error | null) => void;
  /** Sends made before connect() completed, replayed once it has (normally none: see openSlot). */
  queued: Buffer[] | undefined;
}

export function createUdpClient<T>(options: {
  type: 'udp4' | 'udp6';
  socketCount: number;
  maxUses: number;
  random: RandomIds;
  events: UdpClientEvents<T>;
}): UdpClient<T> {
  const { type, socketCount, maxUses, random, events } = options;
  /** host → port → target; two Map reads per send, no key string built. */
  const targets = new Map<string, Map<number, Target<T>>>();
  const open = new Set<UdpSocketSlot<T>>();

  function targetFor(host: string, port: number): Target<T> {
    let byPort = targets.get(host);
    if (byPort === undefined) {
      byPort = new Map();
      targets.set(host, byPort);
    }
    let target = byPort.get(port);
    if (target === undefined) {
      target = { host, port, slots: new Array<Slot<T> | undefined>(socketCount).fill(undefined) };
      byPort.set(port, target);
    }
    return target;
  }

  function openSlot(target: Target<T>): Slot<T> {
    // literalLookup answers synchronously, so bind(0) and connect() complete before this returns.
    const socket = createSocket({ type, lookup: literalLookup });
    const slot: Slot<T> = {
      socket,
      target,
      pending: new Map(),
      uses: 0,
      retired: false,
      closed: false,
      closedPromise: new Promise<void>((resolve) => socket.once('close', resolve)),
      onSent: (err) => {
        if (err === null || err === undefined) return;
        events.onSocketError(err);
        retire(slot);
      },
      queued: undefined,
    };
    open.add(slot);
    socket.on('message', (reply, from) => dispatch(slot, reply, from));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') {
        events.onUnreachable(err);
        return;
      }
      events.onSocketError(err);
      retire(slot);
    });
    socket.once('close', () => {
      slot.closed = true;
      open.delete(slot);
    });
    // connect() binds port 0 with exclusive: true, so in a cluster worker (dns.workers > 1) this
    // socket is the worker's own and never hands its replies to another.
    socket.connect(target.port, target.host);
    if (!isConnected(socket)) {
      slot.queued = [];
      socket.once('connect', () => flushQueued(slot));
    }
    return slot;
  }

  function isConnected(socket: Socket): boolean {
    try {
      socket.remoteAddress();
      return true;
    } catch {
      // ERR_SOCKET_DGRAM_NOT_CONNECTED: connect() is still under way.
      return false;
    }
  }

  function flushQueued(slot: Slot<T>): void {
    const queued = slot.queued ?? [];
    slot.queued = undefined;
    if (slot.closed) return;
    for (const message of queued) slot.socket.send(message, slot.onSent);
  }

  function dispatch(slot: Slot<T>, reply: Buffer, from: RemoteInfo): void {
    const entry = reply.length >= 2 ? slot.pending.get(readId(reply)) : undefined;
    if (entry === undefined) events.onStray(reply, from);
    else events.onReply(entry, reply, from);
  }

  function retire(slot: Slot<T>): void {
    if (slot.retired) return;
    slot.retired = true;
    const slots = slot.target.slots;
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

  function pickSlot(target: Target<T>): Slot<T> {
    const index = random.next() % socketCount;
    let slot = target.slots[index];
    if (slot === undefined) {
      slot = openSlot(target);
      target.slots[index] = slot;
    }
    return slot;
  }

  function sendOn(slot: Slot<T>, message: Buffer): void {
    if (slot.queued !== undefined) slot.queued.push(message);
    else slot.socket.send(message, slot.onSent);
  }

  return {
    send(message, host, port, entry) {
      const slot = pickSlot(targetFor(host, port));
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
        sendOn(slot, message);
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
      targets.clear();
      await Promise.all(closing.map((slot) => slot.closedPromise));
    },
  };
}
