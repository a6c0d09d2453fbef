/**
 * One UDP listener: hands each datagram to the resolver (through the rate-limit gate, when there
 * is one) and sends its answer back. Stopping first stops accepting (new datagrams are counted and
 * dropped) while in-flight answers still go out; close() then releases the socket.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import { literalLookup } from '../net/literal-lookup.js';
import type { RateLimitGate } from './rate-limit.js';
import type { Transport } from './transport.js';
import type { Resolver } from './resolver.js';

const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export interface UdpListener {
  readonly protocol: 'udp';
  /** The bound address (the real port when configured with port 0). */
  readonly address: HostPort;
  /** Datagrams that arrived after stopAccepting(). */
  readonly droppedWhileStopping: number;
  stopAccepting(): void;
  close(): Promise<void>;
}

export async function startUdpListener(options: {
  listen: HostPort;
  resolver: Resolver;
  log: Logger;
  /** Per-client rate limiting, shared with the other listeners; none when undefined. */
  rateLimit?: RateLimitGate | undefined;
}): Promise<UdpListener> {
  const { listen, resolver, log, rateLimit } = options;
  const socket: Socket = createSocket({
    type: listen.family === 6 ? 'udp6' : 'udp4',
    ipv6Only: listen.family === 6,
    lookup: literalLookup, // client addresses are literals: no dns.lookup tick per answer
  });
  let accepting = true;
  let closed = false;
  let droppedWhileStopping = 0;

  const transport: Transport = {
    protocol: 'udp',
    send(response, address, port) {
      // Port 0 is not a port a reply can go to (a forged source); dgram would throw.
      if (closed || port === 0) return;
      socket.send(response, port, address);
    },
    drop() {
      // Nothing to release: a UDP query holds no connection state.
    },
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        new PoolsinkError('ERR_LISTEN', `cannot listen on udp ${formatHostPort(listen)}: ${errorMessage(err)}`, {
          cause: err,
        }),
      );
    };
    socket.once('error', onError);
    socket.bind(listen.port, listen.host, () => {
      socket.off('error', onError);
      resolve();
    });
  });

  try {
    socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch (err: unknown) {
    // The kernel caps buffer sizes (net.core.rmem_max); the default size still works.
    log.debug({ err }, 'could not enlarge UDP socket buffers');
  }

  socket.on('error', (err) => log.warn({ err, listen: formatHostPort(listen) }, 'udp socket error'));
  socket.on('message', (msg, rinfo) => {
    if (!accepting) {
      droppedWhileStopping++;
      return;
    }
    if (rateLimit !== undefined && !rateLimit.admit(msg, rinfo.address, rinfo.port, transport)) return;
    resolver.handle(msg, rinfo.address, rinfo.port, transport);
  });

  const bound = socket.address();
  const address: HostPort = { host: listen.host, port: bound.port, family: listen.family };

  return {
    protocol: 'udp',
    address,
    get droppedWhileStopping() {
      return droppedWhileStopping;
    },
    stopAccepting() {
      accepting = false;
    },
    close() {
      accepting = false;
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
