/**
 * One DNS exchange over a fresh TCP connection (RFC 7766): the message is sent with a 2-byte
 * length prefix and framed replies are read until the caller accepts one. Used to retry a
 * truncated UDP answer. The timeout is the caller's (the pool's shared sweep), which cancels.
 */
import { connect, type Socket } from 'node:net';
import { PoolsinkError } from '../errors.js';

export interface TcpExchange {
  /** Closes the connection; no callback is made afterwards. */
  cancel(): void;
}

export interface TcpExchangeOptions {
  host: string;
  port: number;
  message: Buffer;
  /** A complete reply frame; return true to accept it (the exchange ends), false to keep reading. */
  onReply(reply: Buffer): boolean;
  /** The connection failed or closed before a reply was accepted. Called at most once. */
  onError(err: Error): void;
}

export function startTcpExchange(options: TcpExchangeOptions): TcpExchange {
  const { host, port, message, onReply, onError } = options;
  let finished = false;
  let buffered: Buffer | undefined; // bytes of an incomplete frame

  const socket: Socket = connect({ host, port });
  socket.setNoDelay(true);

  function finish(): void {
    finished = true;
    socket.destroy();
  }

  function fail(err: Error): void {
    if (finished) return;
    finish();
    onError(err);
  }

  socket.on('connect', () => {
    const framed = Buffer.allocUnsafe(message.length + 2);
    framed.writeUInt16BE(message.length, 0);
    message.copy(framed, 2);
    socket.write(framed);
  });
  socket.on('data', (chunk: Buffer) => {
    if (finished) return;
    const data = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
    buffered = undefined;
    let pos = 0;
    while (data.length - pos >= 2) {
      const len = data.readUInt16BE(pos);
      if (data.length - pos - 2 < len) break;
      // A copy, so the accepted answer does not pin the whole chunk.
      const reply = Buffer.from(data.subarray(pos + 2, pos + 2 + len));
      pos += 2 + len;
      if (onReply(reply)) {
        finish();
        return;
      }
      if (finished) return; // cancelled from inside onReply
    }
    if (pos < data.length) buffered = Buffer.from(data.subarray(pos));
  });
  socket.on('error', (err) => fail(err));
  socket.on('close', () => {
    fail(new PoolsinkError('ERR_UPSTREAM_FAILED', 'tcp connection closed before an answer'));
  });

  return {
    cancel() {
      if (!finished) finish();
    },
  };
}
