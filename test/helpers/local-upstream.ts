/**
 * A programmable upstream DNS server for tests: UDP and TCP on one port of 127.0.0.1 (or ::1),
 * port 0. It records every query and answers per a Behavior chosen per query, so a test can make
 * it a normal resolver, a blackhole, a slow, broken or lying one, or send spoofs from its socket.
 *
 * Default zone (behavior 'default'), with the question echoed exactly as received:
 * - A → 198.51.100.x and AAAA → 2001:db8::x, x derived from the lower-cased name, TTL 300;
 * - names at or under nx.test → NXDOMAIN with the SOA of nx.test (TTL 60, minimum 30);
 * - other types → NOERROR with no answer and an SOA owned by the name (TTL 60, minimum 30);
 * - an OPT record when the query had one (size 1232, DO echoed).
 * Over UDP, an answer bigger than the query allows (512, or the OPT's size) goes out truncated.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { RCODE, buildAnswer, readQuery, truncatedFor, withId, type AnswerSpec, type QueryInfo } from './answers.js';

export type Transport = 'udp' | 'tcp';

export interface ReceivedQuery extends QueryInfo {
  readonly transport: Transport;
  /** The query exactly as received. */
  readonly bytes: Buffer;
  readonly from: { readonly address: string; readonly port: number };
}

export interface SentReply {
  readonly transport: Transport;
  readonly bytes: Buffer;
  readonly to: { readonly address: string; readonly port: number };
}

type BytesFor = Buffer | ((query: ReceivedQuery) => Buffer);

export type Behavior =
  /** The default zone (see the file comment). */
  | { kind: 'default' }
  /** An answer built from records (see AnswerSpec); ID and question echoed. */
  | ({ kind: 'answer' } & AnswerSpec)
  /** A whole message; its ID is replaced by the query's unless keepId. Truncated over UDP if too big. */
  | { kind: 'message'; bytes: BytesFor; keepId?: boolean }
  /** Bytes sent exactly as given: garbage, crafted replies. Never truncated or fixed up. */
  | { kind: 'raw'; bytes: BytesFor }
  /** No answer at all (blackhole). A TCP connection stays open. */
  | { kind: 'drop' }
  /** Over TCP, close the connection without answering; over UDP the same as drop. */
  | { kind: 'close' }
  | { kind: 'delay'; ms: number; then: Behavior }
  /** Over UDP a TC=1 answer without records; over TCP `then`. */
  | { kind: 'truncate'; then: Behavior }
  /** Whatever `then` sends, with the ID changed. */
  | { kind: 'wrong-id'; then: Behavior }
  /** Several replies, in order (for example a wrong-ID one, then the real one). */
  | { kind: 'sequence'; replies: readonly Behavior[] };

export type BehaviorChoice = Behavior | ((query: ReceivedQuery) => Behavior);

/** Ready-made behaviors, including the broken ones a hardening test wants. */
export const behaviors = {
  normal: (): Behavior => ({ kind: 'default' }),
  blackhole: (): Behavior => ({ kind: 'drop' }),
  slow: (ms: number, then: Behavior = { kind: 'default' }): Behavior => ({ kind: 'delay', ms, then }),
  servfail: (): Behavior => ({ kind: 'answer', rcode: RCODE.SERVFAIL }),
  refused: (): Behavior => ({ kind: 'answer', rcode: RCODE.REFUSED }),
  /** The query's ID followed by bytes that are not a DNS message: passes an ID check, nothing else. */
  garbage: (): Behavior => ({
    kind: 'raw',
    bytes: (q) =>
      Buffer.concat([withId(Buffer.alloc(2), q.id), Buffer.from('\x81\x80not a dns message at all', 'latin1')]),
  }),
  wrongId: (then: Behavior = { kind: 'default' }): Behavior => ({ kind: 'wrong-id', then }),
  truncated: (then: Behavior = { kind: 'default' }): Behavior => ({ kind: 'truncate', then }),
  answer: (spec: AnswerSpec): Behavior => ({ kind: 'answer', ...spec }),
} as const;

export interface LocalUpstream {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:port" or "[::1]:port", as the upstream pool labels it. */
  readonly address: string;
  /** Every readable query, in arrival order. */
  readonly queries: ReceivedQuery[];
  /** Messages that were not a readable query (dropped without an answer). */
  readonly unreadable: Buffer[];
  /** Every reply sent, including spoofs sent with sendUdp. */
  readonly replies: SentReply[];
  setBehavior(choice: BehaviorChoice): void;
  /** Resolves with `queries` once at least `count` have arrived. */
  waitForQueries(count: number, timeoutMs?: number): Promise<ReceivedQuery[]>;
  /** Resolves with `replies` once at least `count` have been sent (handed to the kernel). */
  waitForReplies(count: number, timeoutMs?: number): Promise<SentReply[]>;
  /** Sends raw bytes from the upstream's own UDP address and port, for example a spoof. */
  sendUdp(bytes: Buffer, port: number, address?: string): Promise<void>;
  close(): Promise<void>;
}

export interface LocalUpstreamOptions {
  /** Default 127.0.0.1. Tests only ever use loopback. */
  host?: '127.0.0.1' | '::1';
  behavior?: BehaviorChoice;
}

export function defaultIpv4(qname: string): string {
  return `198.51.100.${nameByte(qname)}`;
}

export function defaultIpv6(qname: string): string {
  return `2001:db8::${nameByte(qname).toString(16)}`;
}

/** 1..254, from an FNV-1a hash of the lower-cased name. */
function nameByte(qname: string): number {
  let hash = 0x811c9dc5;
  for (const c of qname.toLowerCase()) hash = Math.imul(hash ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return (hash % 254) + 1;
}

/** The default zone's answer to `query`, as an AnswerSpec (build it with buildAnswer). */
export function defaultAnswer(query: QueryInfo): AnswerSpec {
  const name = query.qname.toLowerCase();
  if (name === 'nx.test' || name.endsWith('.nx.test')) {
    return { rcode: RCODE.NXDOMAIN, authority: [{ type: 'SOA', name: 'nx.test', ttl: 60, minimum: 30 }] };
  }
  if (query.qtype === 1) return { answers: [{ type: 'A', address: defaultIpv4(name) }] };
  if (query.qtype === 28) return { answers: [{ type: 'AAAA', address: defaultIpv6(name) }] };
  return { authority: [{ type: 'SOA', ttl: 60, minimum: 30 }] };
}

interface Output {
  readonly query: ReceivedQuery;
  send(bytes: Buffer): void;
  close(): void;
}

const LISTEN_ATTEMPTS = 10;

export async function startLocalUpstream(options: LocalUpstreamOptions = {}): Promise<LocalUpstream> {
  const host = options.host ?? '127.0.0.1';
  let choose: (query: ReceivedQuery) => Behavior = toChooser(options.behavior ?? { kind: 'default' });
  const queries: ReceivedQuery[] = [];
  const unreadable: Buffer[] = [];
  const replies: SentReply[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const connections = new Set<TcpSocket>();
  const queryWaiters = new Set<() => void>();
  const replyWaiters = new Set<() => void>();
  let closed = false;

  const { udp, tcp, port } = await listenBoth(host);

  function notify(waiters: Set<() => void>): void {
    for (const check of waiters) check();
  }

  function recordReply(reply: SentReply): void {
    replies.push(reply);
    notify(replyWaiters);
  }

  function receive(
    bytes: Buffer,
    transport: Transport,
    from: { address: string; port: number },
    out: Omit<Output, 'query'>,
  ): void {
    const info = readQuery(bytes);
    if (info === undefined) {
      unreadable.push(Buffer.from(bytes));
      return;
    }
    const query: ReceivedQuery = { ...info, transport, bytes: Buffer.from(bytes), from };
    queries.push(query);
    notify(queryWaiters);
    perform(choose(query), { query, ...out });
  }

  function sendSized(out: Output, response: Buffer): void {
    const q = out.query;
    out.send(q.transport === 'udp' && response.length > q.udpSize ? truncatedFor(response, q) : response);
  }

  function perform(behavior: Behavior, out: Output): void {
    const q = out.query;
    switch (behavior.kind) {
      case 'default':
        sendSized(out, buildAnswer(q, defaultAnswer(q)));
        return;
      case 'answer':
        sendSized(out, buildAnswer(q, behavior));
        return;
      case 'message': {
        const bytes = bytesFor(behavior.bytes, q);
        sendSized(out, behavior.keepId === true ? bytes : withId(bytes, q.id));
        return;
      }
      case 'raw':
        out.send(bytesFor(behavior.bytes, q));
        return;
      case 'drop':
        return;
      case 'close':
        out.close();
        return;
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!closed) perform(behavior.then, out);
        }, behavior.ms);
        timers.add(timer);
        return;
      }
      case 'truncate':
        if (q.transport === 'udp') out.send(truncatedFor(buildAnswer(q), q));
        else perform(behavior.then, out);
        return;
      case 'wrong-id':
        perform(behavior.then, {
          ...out,
          send: (bytes) => out.send(withId(bytes, (bytes.readUInt16BE(0) + 1) & 0xffff)),
        });
        return;
      case 'sequence':
        for (const next of behavior.replies) perform(next, out);
        return;
    }
  }

  udp.on('error', () => {
    // A send to a vanished test client; the upstream keeps serving.
  });
  udp.on('message', (msg, rinfo) => {
    const to = { address: rinfo.address, port: rinfo.port };
    receive(msg, 'udp', to, {
      send(bytes) {
        if (closed) return;
        udp.send(bytes, to.port, to.address, (err) => {
          if (err === null || err === undefined) recordReply({ transport: 'udp', bytes, to });
        });
      },
      close() {
        // UDP has no connection to close: the same as not answering.
      },
    });
  });

  tcp.on('connection', (socket: TcpSocket) => {
    connections.add(socket);
    const to = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    let buffered = Buffer.alloc(0);
    const out = {
      send(bytes: Buffer) {
        if (socket.destroyed) return;
        socket.write(Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]));
        recordReply({ transport: 'tcp', bytes, to });
      },
      close() {
        socket.destroy();
      },
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        receive(message, 'tcp', to, out);
        if (socket.destroyed) return;
      }
    });
    socket.on('error', () => {
      // The peer went away (the pool cancels exchanges it no longer needs).
    });
    socket.on('close', () => connections.delete(socket));
  });

  function waitFor<T>(
    waiters: Set<() => void>,
    done: () => boolean,
    value: () => T,
    what: string,
    timeoutMs: number,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(value());
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`local upstream ${port}: timed out waiting for ${what}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }

  return {
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    unreadable,
    replies,
    setBehavior(choice) {
      choose = toChooser(choice);
    },
    waitForQueries(count, timeoutMs = 30_000) {
      return waitFor(
        queryWaiters,
        () => queries.length >= count,
        () => queries,
        `${count} queries (got ${queries.length})`,
        timeoutMs,
      );
    },
    waitForReplies(count, timeoutMs = 30_000) {
      return waitFor(
        replyWaiters,
        () => replies.length >= count,
        () => replies,
        `${count} replies (got ${replies.length})`,
        timeoutMs,
      );
    },
    sendUdp(bytes, toPort, toAddress = host) {
      return new Promise((resolve, reject) => {
        udp.send(bytes, toPort, toAddress, (err) => {
          if (err !== null && err !== undefined) {
            reject(err);
            return;
          }
          recordReply({ transport: 'udp', bytes, to: { address: toAddress, port: toPort } });
          resolve();
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function toChooser(choice: BehaviorChoice): (query: ReceivedQuery) => Behavior {
  return typeof choice === 'function' ? choice : () => choice;
}

function bytesFor(bytes: BytesFor, query: ReceivedQuery): Buffer {
  return typeof bytes === 'function' ? bytes(query) : bytes;
}

/** Binds UDP on port 0, then TCP on the port UDP got; retries if that TCP port is taken. */
async function listenBoth(host: string): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < LISTEN_ATTEMPTS; attempt++) {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const port = udp.address().port;
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ port, host }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port };
    } catch (err: unknown) {
      lastError = err;
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
  }
  throw new Error(`local upstream: no port free for both UDP and TCP on ${host}`, { cause: lastError });
}
