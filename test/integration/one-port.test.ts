/**
 * UDP and TCP on one port (src/dns/one-port.ts), with the real listeners: when the port UDP got is
 * already held for TCP by another socket, port 0 moves both to a new port; a configured port fails.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { pino } from 'pino';
import { afterEach, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import { startOnOnePort } from '../../src/dns/one-port.js';
import { startTcpListener } from '../../src/dns/tcp-server.js';
import { startUdpListener } from '../../src/dns/udp-server.js';
import { tcpExchange } from '../helpers/clients.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery, rcodeOf } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';

const log = pino({ level: 'silent' });
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(): Promise<{ stack: Stack; takenPort: number }> {
  const up: LocalUpstream = await startLocalUpstream();
  cleanups.push(() => up.close());
  const stack = await startStack({ upstreams: [up.address], lists: { pools: { text: 'pool.example\n' } } });
  cleanups.push(() => stack.close());
  // Another program holds a TCP port; its UDP twin is free.
  const holder: Server = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
  const address = holder.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { stack, takenPort: address.port };
}

function starters(stack: Stack, firstUdpPort: number) {
  let udpCalls = 0;
  return {
    udpCalls: () => udpCalls,
    startUdp: () => {
      udpCalls += 1;
      // The first UDP bind lands on the port whose TCP side is taken, as the kernel may pick it.
      const port = udpCalls === 1 ? firstUdpPort : 0;
      return startUdpListener({
        listen: { host: '127.0.0.1', port, family: 4 },
        resolver: stack.poolsink.resolver,
        log,
      });
    },
    startTcp: (port: number) =>
      startTcpListener({
        listen: { host: '127.0.0.1', port, family: 4 },
        resolver: stack.poolsink.resolver,
        log,
        limits: { idleTimeoutMs: 5000, maxConnections: 10, maxConnectionsPerClient: 10 },
      }),
  };
}

async function udpPortFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', resolve);
    });
    return true;
  } catch {
    return false; // still bound: the failed attempt's UDP listener was not closed
  } finally {
    socket.close();
  }
}

test('port 0: when TCP cannot take the port UDP got, both move to a new port that serves', async () => {
  const { stack, takenPort } = await setUp();
  const s = starters(stack, takenPort);
  const { udp, tcp } = await startOnOnePort({ port: 0, startUdp: s.startUdp, startTcp: s.startTcp });
  cleanups.push(
    () => udp.close(),
    () => tcp.close(),
  );
  expect(s.udpCalls()).toBe(2);
  expect(udp.address.port).not.toBe(takenPort);
  expect(tcp.address.port).toBe(udp.address.port);
  expect(await udpPortFree(takenPort)).toBe(true);
  const [answer] = await tcpExchange(tcp.address.port, [encodeQuery('a.pool.example')]);
  expect(answer === undefined ? undefined : rcodeOf(answer)).toBe(3);
});

test('a configured port whose TCP side is taken fails at once, naming the port, and frees its UDP side', async () => {
  const { stack, takenPort } = await setUp();
  const s = starters(stack, takenPort);
  let thrown: unknown;
  try {
    await startOnOnePort({ port: takenPort, startUdp: s.startUdp, startTcp: s.startTcp });
  } catch (err: unknown) {
    thrown = err;
  }
  expect(isPoolsinkError(thrown, 'ERR_LISTEN')).toBe(true);
  expect((thrown as Error).message).toContain(String(takenPort));
  expect(s.udpCalls()).toBe(1);
  expect(await udpPortFree(takenPort)).toBe(true);
});
