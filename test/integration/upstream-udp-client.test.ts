import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { describe, expect, onTestFinished, test } from 'vitest';
import { createRandomIds } from '../../src/upstream/ids.js';
import { createUdpClient, type UdpClient } from '../../src/upstream/udp-client.js';
import { behaviors, startLocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';
import { until } from '../helpers/wait.js';

interface Seen {
  entry: string;
  from: RemoteInfo;
}

async function setup(options: { socketCount: number; maxUses: number }) {
  const upstream = await startLocalUpstream({ behavior: behaviors.blackhole() });
  const replies: Seen[] = [];
  const strays: Buffer[] = [];
  const client: UdpClient<string> = createUdpClient<string>({
    type: 'udp4',
    ...options,
    random: createRandomIds(),
    events: {
      onReply: (entry, _reply, from) => replies.push({ entry, from }),
      onStray: (reply) => strays.push(reply),
      onUnreachable: () => undefined,
      onSocketError: () => undefined,
    },
  });
  onTestFinished(async () => {
    await client.close();
    await upstream.close();
  });
  return { upstream, client, replies, strays };
}

describe('UDP client', () => {
  test('a retired socket stays open until its last pending ID is released, then closes', async () => {
    const { upstream, client } = await setup({ socketCount: 1, maxUses: 2 });
    const first = client.send(encodeQuery('a.test'), '127.0.0.1', upstream.port, 'a');
    const second = client.send(encodeQuery('b.test'), '127.0.0.1', upstream.port, 'b');
    expect(second).toBe(first);
    expect(first.retired).toBe(true);
    const third = client.send(encodeQuery('c.test'), '127.0.0.1', upstream.port, 'c');
    expect(third).not.toBe(first);
    const queries = await upstream.waitForQueries(3);
    expect(client.openSockets).toBe(2);

    client.release(first, queries[0]!.id);
    expect(first.closed).toBe(false);
    client.release(first, queries[1]!.id);
    await first.closedPromise;
    expect(client.openSockets).toBe(1);
  });

  test('dispatches a reply by socket and ID; anything else is a stray', async () => {
    const { upstream, client, replies, strays } = await setup({ socketCount: 1, maxUses: 100 });
    const message = encodeQuery('d.test');
    client.send(message, '127.0.0.1', upstream.port, 'd');
    const [q] = await upstream.waitForQueries(1);
    expect(q?.id).toBe(message.readUInt16BE(0)); // the ID was written into the message
    const reply = Buffer.from(q!.bytes);
    const wrong = Buffer.from(reply);
    wrong.writeUInt16BE((q!.id + 1) & 0xffff, 0);
    await upstream.sendUdp(wrong, q!.from.port);
    await upstream.sendUdp(Buffer.from([1]), q!.from.port);
    await upstream.sendUdp(reply, q!.from.port);
    await until(() => replies.length > 0);
    expect(replies.map((r) => [r.entry, r.from.port])).toEqual([['d', upstream.port]]);
    expect(strays).toHaveLength(2);
  });

  test('sockets are connected: a matching reply from another port or address never arrives', async () => {
    const { upstream, client, replies, strays } = await setup({ socketCount: 1, maxUses: 100 });
    client.send(encodeQuery('e.test'), '127.0.0.1', upstream.port, 'e');
    const [q] = await upstream.waitForQueries(1);
    const reply = Buffer.from(q!.bytes); // the right ID and question
    const spoofers = [await bound('127.0.0.1', 0), await bound('127.0.0.2', upstream.port)];
    for (const spoofer of spoofers) {
      await new Promise<void>((resolve, reject) =>
        spoofer.send(reply, q!.from.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
    // Sent after the spoofs: had the kernel delivered them, they would have been read first.
    await upstream.sendUdp(reply, q!.from.port);
    await until(() => replies.length > 0);
    expect(replies.map((r) => [r.entry, r.from.address, r.from.port])).toEqual([['e', '127.0.0.1', upstream.port]]);
    expect(strays).toHaveLength(0);
  });

  test('each upstream gets its own sockets, so each source port talks to one upstream', async () => {
    const { upstream, client } = await setup({ socketCount: 1, maxUses: 100 });
    const other = await startLocalUpstream({ behavior: behaviors.blackhole() });
    onTestFinished(() => other.close());
    const first = client.send(encodeQuery('f.test'), '127.0.0.1', upstream.port, 'f');
    const second = client.send(encodeQuery('g.test'), '127.0.0.1', other.port, 'g');
    expect(second).not.toBe(first);
    expect(client.send(encodeQuery('h.test'), '127.0.0.1', upstream.port, 'h')).toBe(first);
    const [a] = await upstream.waitForQueries(1);
    const [b] = await other.waitForQueries(1);
    expect(a!.from.port).not.toBe(b!.from.port);
  });
});

async function bound(host: string, port: number): Promise<Socket> {
  const socket = createSocket('udp4');
  onTestFinished(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  await new Promise<void>((resolve) => socket.bind(port, host, () => resolve()));
  return socket;
}
