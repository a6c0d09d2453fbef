/**
 * Stratum test clients, written from the protocols' own descriptions rather than from poolsink's
 * parser: each sends what a miner of its flavour sends at login, over plain TCP or TLS (without
 * verifying the certificate, as most miners do), from a chosen loopback address.
 *
 * - Monero (xmrig's stratum): `login` with {login, pass, agent, algo, rigid}.
 * - Bitcoin stratum v1 (slushpool's description): mining.subscribe [agent], mining.authorize [user, pass].
 * - EthereumStratum/1.0.0 (NiceHash's proposal): mining.subscribe [agent, "EthereumStratum/1.0.0"], mining.authorize.
 * - eth-proxy (Claymore/ethminer "stratum1"): eth_submitLogin [wallet, pass] with "worker".
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { TLSSocket, connect as connectTls } from 'node:tls';

export interface StratumConnection {
  readonly socket: Socket;
  /** Lines received so far (JSON parsed). */
  readonly replies: unknown[];
  send(message: unknown): void;
  sendRaw(bytes: string | Buffer): void;
  /** Resolves with the replies once `count` have arrived. */
  waitReplies(count: number): Promise<unknown[]>;
  /** Resolves once the server closed the connection. */
  readonly closed: Promise<void>;
  /** The server's certificate (TLS only). */
  peerCertificateRaw(): Buffer | undefined;
}

export async function connectStratum(
  port: number,
  options: { tls?: boolean; localAddress?: string } = {},
): Promise<StratumConnection> {
  const localAddress = options.localAddress ?? '127.0.0.1';
  const tcp: Socket = await new Promise((resolve, reject) => {
    const s = connectTcp({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
  const socket: Socket = options.tls
    ? await new Promise((resolve, reject) => {
        const s = connectTls({ socket: tcp, rejectUnauthorized: false }, () => resolve(s));
        s.once('error', reject);
      })
    : tcp;
  const certificate = socket instanceof TLSSocket ? socket.getPeerCertificate().raw : undefined;
  socket.on('error', () => undefined); // a cut connection ends in 'close'
  const replies: unknown[] = [];
  const waiters: { count: number; resolve: (r: unknown[]) => void }[] = [];
  let partial = '';
  socket.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    let end = partial.indexOf('\n');
    while (end >= 0) {
      replies.push(JSON.parse(partial.slice(0, end)));
      partial = partial.slice(end + 1);
      end = partial.indexOf('\n');
    }
    for (const waiter of waiters.splice(0)) {
      if (replies.length >= waiter.count) waiter.resolve(replies);
      else waiters.push(waiter);
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    replies,
    send: (message) => socket.write(`${JSON.stringify(message)}\n`),
    sendRaw: (bytes) => socket.write(bytes),
    waitReplies(count) {
      if (replies.length >= count) return Promise.resolve(replies);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    closed,
    peerCertificateRaw: () => certificate,
  };
}

/** The flavours' logins as miners send them; resolves with the replies once the server has closed. */
export const STRATUM_LOGINS = {
  async monero(c: StratumConnection, wallet: string): Promise<unknown[]> {
    c.send({
      id: 1,
      jsonrpc: '2.0',
      method: 'login',
      params: {
        login: wallet,
        pass: 'x',
        agent: 'XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0',
        algo: ['rx/0', 'cn/r'],
        rigid: 'rig-7',
      },
    });
    await c.closed;
    return c.replies;
  },
  async bitcoin(c: StratumConnection, user: string): Promise<unknown[]> {
    c.send({ id: 1, method: 'mining.subscribe', params: ['cgminer/4.12.1'] });
    await c.waitReplies(1);
    c.send({ id: 2, method: 'mining.extranonce.subscribe', params: [] });
    c.send({ id: 3, method: 'mining.authorize', params: [user, 'secret'] });
    await c.closed;
    return c.replies;
  },
  async ethereumStratum(c: StratumConnection, user: string): Promise<unknown[]> {
    c.send({ id: 1, method: 'mining.subscribe', params: ['ethminer/0.19.0', 'EthereumStratum/1.0.0'] });
    await c.waitReplies(1);
    c.send({ id: 2, method: 'mining.authorize', params: [user, 'x'] });
    await c.closed;
    return c.replies;
  },
  async ethProxy(c: StratumConnection, wallet: string): Promise<unknown[]> {
    c.send({ id: 1, jsonrpc: '2.0', method: 'eth_submitLogin', params: [wallet, 'x'], worker: 'rig-eth' });
    await c.closed;
    return c.replies;
  },
};
