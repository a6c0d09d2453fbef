/** Readiness checks: free ports and "does this server answer a DNS query yet". */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { encodeQuery, readResponseHeader } from './dns-message.mjs';

function bindUdp(port) {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

function bindTcp(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** A port on 127.0.0.1 that is free for both UDP and TCP right now (a DNS server wants both). */
export async function findFreePort(attempts = 20) {
  for (let i = 0; i < attempts; i += 1) {
    const udp = await bindUdp(0);
    const { port } = udp.address();
    try {
      const tcp = await bindTcp(port);
      await new Promise((resolve) => tcp.close(resolve));
      return port;
    } catch {
      // TCP side taken: try another port
    } finally {
      udp.close();
    }
  }
  throw new Error('no free UDP+TCP port on 127.0.0.1');
}

/** One UDP query to 127.0.0.1:port; resolves with the response header or undefined on timeout. */
export function queryOnce(port, qname, timeoutMs = 300) {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const id = Math.floor(Math.random() * 0x10000);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    function finish(result) {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    }
    socket.on('message', (message) => {
      const header = readResponseHeader(message);
      if (header?.id === id) finish(header);
    });
    socket.on('error', () => finish(undefined));
    socket.send(encodeQuery(qname, id), port, '127.0.0.1');
  });
}

/**
 * Polls until the server on `port` answers (any RCODE), `child` exits, or timeoutMs passes.
 * Resolves with the milliseconds it took. `outputTail()` supplies the child's last output for
 * the error message.
 */
export async function waitUntilAnswering(
  port,
  { child, name, qname = 'ready.probe.test', timeoutMs = 30000, outputTail = () => child.stderrTail },
) {
  const startedAt = performance.now();
  while (performance.now() - startedAt < timeoutMs) {
    if (child.spawnError) throw new Error(`${name} could not be started: ${child.spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited (${child.signalCode ?? `code ${child.exitCode}`}) before answering on 127.0.0.1:${port}:\n${outputTail().trim()}`,
      );
    }
    if ((await queryOnce(port, qname, 250)) !== undefined) return performance.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${name} did not answer a DNS query on 127.0.0.1:${port} within ${timeoutMs / 1000} s:\n${outputTail().trim()}`,
  );
}
