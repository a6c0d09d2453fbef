/**
 * Turns `port: 0` listen addresses into concrete ports before any worker starts. node:cluster
 * keys a shared socket by (address, port, …): every worker binding `127.0.0.1:0` would otherwise
 * depend on bind-call order to land on the same socket, and two poolsinks in one process (tests)
 * would share one. A concrete port gives every worker, respawned ones too, the same key.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { PoolsinkError, errorMessage } from '../errors.js';
import { startOnOnePort } from '../dns/one-port.js';
import type { HostPort } from '../net/address.js';

function listenError(protocol: string, listen: HostPort, err: unknown): PoolsinkError {
  return new PoolsinkError('ERR_LISTEN', `cannot reserve a ${protocol} port on ${listen.host}: ${errorMessage(err)}`, {
    cause: err,
  });
}

async function bindUdp(listen: HostPort): Promise<{ address: { port: number }; close(): Promise<void> }> {
  const socket = createSocket({ type: listen.family === 6 ? 'udp6' : 'udp4', ipv6Only: listen.family === 6 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(listenError('udp', listen, err)));
    socket.bind({ port: 0, address: listen.host, exclusive: true }, () => resolve());
  });
  return {
    address: { port: socket.address().port },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

async function checkTcp(listen: HostPort, port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError('tcp', listen, err)));
    server.listen({ port, host: listen.host, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** `listen` with every port 0 replaced by one free for both UDP and TCP right now. */
export async function reservePorts(listen: readonly HostPort[]): Promise<HostPort[]> {
  const out: HostPort[] = [];
  for (const address of listen) {
    if (address.port !== 0) {
      out.push(address);
      continue;
    }
    const { udp } = await startOnOnePort({
      port: 0,
      startUdp: () => bindUdp(address),
      startTcp: (port) => checkTcp(address, port),
    });
    await udp.close();
    out.push({ ...address, port: udp.address.port });
  }
  return out;
}
