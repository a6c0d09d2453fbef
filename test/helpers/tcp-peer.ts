/**
 * A raw TCP peer for abuse tests: connects from a chosen loopback address, writes whatever bytes a
 * test wants (well framed or not, all at once or a byte at a time), collects framed replies and
 * reports when and how the server closed the connection. Only loopback addresses are used.
 */
import { connect, type Socket } from 'node:net';

export interface TcpPeer {
  readonly socket: Socket;
  /** Framed replies received so far. */
  readonly replies: Buffer[];
  /** Resolves when the connection is closed, with milliseconds since it was opened. */
  readonly closed: Promise<number>;
  readonly isClosed: boolean;
  write(bytes: Buffer): void;
  /** Resolves with the replies once there are `count`, or rejects after `timeoutMs`. */
  waitForReplies(count: number, timeoutMs?: number): Promise<Buffer[]>;
  destroy(): void;
}

/** Frames a DNS message with its 2-byte length prefix. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

export function openPeer(port: number, localAddress = '127.0.0.1'): Promise<TcpPeer> {
  return new Promise((resolve, reject) => {
    const openedAt = performance.now();
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const replies: Buffer[] = [];
    const waiters = new Set<() => void>();
    let buffered = Buffer.alloc(0);
    let isClosed = false;
    let connected = false;
    const closed = new Promise<number>((done) => {
      socket.once('close', () => {
        isClosed = true;
        for (const check of waiters) check();
        done(performance.now() - openedAt);
      });
    });
    socket.on('error', (err) => {
      if (!connected) reject(err);
      // After connecting, a reset by the server is one of the outcomes a test looks at.
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        replies.push(Buffer.from(buffered.subarray(2, 2 + len)));
        buffered = buffered.subarray(2 + len);
      }
      for (const check of waiters) check();
    });
    socket.once('connect', () => {
      connected = true;
      resolve({
        socket,
        replies,
        closed,
        get isClosed() {
          return isClosed;
        },
        write(bytes) {
          if (!socket.destroyed) socket.write(bytes);
        },
        waitForReplies(count, timeoutMs = 30_000) {
          return new Promise((done, fail) => {
            const check = (): void => {
              if (replies.length >= count) {
                clearTimeout(timer);
                waiters.delete(check);
                done(replies);
              } else if (isClosed) {
                clearTimeout(timer);
                waiters.delete(check);
                fail(new Error(`connection closed after ${replies.length} of ${count} replies`));
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`timed out after ${replies.length} of ${count} replies`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        destroy() {
          socket.destroy();
        },
      });
    });
  });
}

/** Resolves with true if `peer` is closed within `ms`, false if it is still open then. */
export async function closesWithin(peer: TcpPeer, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    peer.closed.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return result;
}
