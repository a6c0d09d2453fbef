/**
 * A port free on 127.0.0.1 for both UDP and TCP, for servers that take a port number rather than
 * binding port 0 themselves (named, unbound). Bound on port 0 and released: another process could
 * take it in between, which a test then reports as its server failing to start.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export async function freeDnsPort(): Promise<number> {
  for (;;) {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const tcp = createServer();
    const tcpFree = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (tcpFree) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await new Promise<void>((resolve) => udp.close(resolve));
    if (tcpFree) return port;
  }
}
