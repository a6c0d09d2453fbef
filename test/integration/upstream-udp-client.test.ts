import type { RemoteInfo } from 'node:dgram';
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
      onSendError: () => undefined,
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
});
