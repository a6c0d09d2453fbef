/**
 * Sends fuzz packets to a DNS server on loopback over UDP and TCP at once, and checks every answer
 * that comes back: a response (QR=1), at least a header, and an ID that was sent on that socket or
 * connection. Sources are spread over several loopback addresses (127.0.0.2, .3, ...), as a
 * spoofed-source flood would be, so a per-client rate limit does not turn the run into REFUSEDs.
 *
 * UDP: a few sockets per source, sent in batches with a bounded number of unanswered packets in
 * flight (packets that get no answer by design are written off after a short wait).
 * TCP: several connections at a time, each writing 1..64 framed packets (now and then a lying
 * length prefix or a cut-off frame last) and then its FIN; the server answers and closes.
 */
import { createSocket } from 'node:dgram';
import { isIP, connect } from 'node:net';
import { encodeQuery } from '../bench/dns-message.mjs';
import { createPacketFuzzer } from './packets.mjs';

export const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** True for 127.0.0.0/8 and ::1: the only places the fuzzer will send to. */
export function isLoopback(host) {
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function sourceAddresses(host, count) {
  if (isIP(host) === 6) return ['::1'];
  return Array.from({ length: count }, (_, i) => `127.0.0.${2 + (i % 250)}`);
}

function createAnswerTally() {
  return { total: 0, byRcode: {}, notResponse: 0, unexpectedId: 0, short: 0 };
}

/** Records one answer against the IDs sent (a Uint16Array of counts per ID). */
function tallyAnswer(tally, sentIds, answer) {
  tally.total += 1;
  if (answer.length < 12) {
    tally.short += 1;
    return;
  }
  if ((answer[2] & 0x80) === 0) tally.notResponse += 1;
  const id = answer.readUInt16BE(0);
  if (sentIds[id] === 0) tally.unexpectedId += 1;
  else sentIds[id] -= 1;
  const rcode = answer[3] & 0x0f;
  const name = RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
  tally.byRcode[name] = (tally.byRcode[name] ?? 0) + 1;
}

function noteSent(sentIds, packet) {
  if (packet.length >= 2) sentIds[packet.readUInt16BE(0)] += 1;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function runUdp({ host, port, count, seed, sources, socketsPerSource, window, tally, kinds, onSent }) {
  const fuzzer = createPacketFuzzer({ seed });
  const family = isIP(host) === 6 ? 'udp6' : 'udp4';
  const sockets = [];
  let sent = 0;
  let received = 0;
  let writtenOff = 0;
  for (const address of sources) {
    for (let i = 0; i < socketsPerSource; i += 1) {
      const socket = createSocket(family);
      const sentIds = new Uint16Array(65536);
      socket.on('message', (answer) => {
        received += 1;
        tallyAnswer(tally, sentIds, answer);
      });
      socket.on('error', () => {
        // ICMP errors and the like: the packet just goes unanswered.
      });
      await new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      try {
        socket.setRecvBufferSize(4 * 1024 * 1024);
      } catch {
        // kernel cap: the default buffer still works, with more loss under load
      }
      sockets.push({ socket, sentIds });
    }
  }
  const batch = 64;
  try {
    while (sent < count) {
      const end = Math.min(count, sent + batch);
      for (; sent < end; sent += 1) {
        const { kind, bytes } = fuzzer.next();
        kinds[kind] = (kinds[kind] ?? 0) + 1;
        const target = sockets[sent % sockets.length];
        noteSent(target.sentIds, bytes);
        // Runts and responses (QR=1) are dropped by any correct server: expect no answer.
        if (bytes.length < 12 || (bytes[2] & 0x80) !== 0) writtenOff += 1;
        target.socket.send(bytes, port, host);
      }
      onSent(batch);
      // Keep at most `window` answers outstanding. If none arrive for a while, the rest were lost
      // (or dropped by a rate limit): write them off rather than stall.
      let stalledMs = 0;
      while (sent - received - writtenOff > window && stalledMs < 100) {
        const before = received;
        await sleep(1);
        stalledMs = received === before ? stalledMs + 1 : 0;
      }
      if (sent - received - writtenOff > window) writtenOff = sent - received;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Late answers (forwarded queries) still count.
    let last = -1;
    for (let waited = 0; waited < 2000 && received !== last; waited += 200) {
      last = received;
      await sleep(200);
    }
  } finally {
    await Promise.all(sockets.map(({ socket }) => new Promise((resolve) => socket.close(resolve))));
  }
  return { sent };
}

/** One TCP connection's worth: writes `packets` framed (plus maybe a bad tail), then FIN; resolves at close. */
function tcpExchangeBatch({ host, port, localAddress, packets, tail, tally, stats }) {
  return new Promise((resolve) => {
    const sentIds = new Uint16Array(65536);
    const socket = connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
    let buffered = Buffer.alloc(0);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve();
    };
    // A server that neither answers nor closes would hang the run: give up on it.
    const timer = setTimeout(() => {
      stats.stalled += 1;
      socket.destroy();
    }, 10_000);
    socket.on('connect', () => {
      stats.connections += 1;
      const frames = [];
      for (const packet of packets) {
        noteSent(sentIds, packet);
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(packet.length & 0xffff, 0);
        frames.push(prefix, packet);
      }
      if (tail !== undefined) frames.push(tail);
      socket.end(Buffer.concat(frames));
    });
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        tallyAnswer(tally, sentIds, buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
      }
    });
    socket.on('error', (err) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') stats.resets += 1;
      else stats.errors += 1;
    });
    socket.on('close', finish);
  });
}

async function runTcp({ host, port, count, seed, sources, connections, tally, kinds, onSent, stats }) {
  const fuzzer = createPacketFuzzer({ seed });
  let remaining = count;
  let sent = 0;
  let batchNo = 0;
  const tailRandom = createPacketFuzzer({ seed: seed ^ 0x5a5a });
  async function worker(index) {
    while (remaining > 0) {
      const wanted = Math.min(remaining, 1 + ((batchNo * 7919 + index) % 64));
      batchNo += 1;
      const packets = [];
      for (let i = 0; i < wanted; i += 1) {
        const { kind, bytes } = fuzzer.next();
        kinds[kind] = (kinds[kind] ?? 0) + 1;
        // A frame's length prefix is 16 bits: anything longer is not sendable as one frame.
        packets.push(bytes.length > 0xffff ? bytes.subarray(0, 0xffff) : bytes);
        // A frame shorter than a header ends the connection (the server closes it): make it the last.
        if (bytes.length < 12) break;
      }
      const n = packets.length;
      remaining -= n;
      // One connection in 25 ends with a framing lie: a huge declared length, or a frame cut short.
      let tail;
      if (batchNo % 25 === 0) tail = Buffer.from([0xff, 0xff, 1, 2, 3]);
      else if (batchNo % 25 === 12)
        tail = Buffer.concat([Buffer.from([0, 40]), tailRandom.next().bytes.subarray(0, 10)]);
      const localAddress = sources[batchNo % sources.length];
      await tcpExchangeBatch({ host, port, localAddress, packets, tail, tally, stats });
      sent += n;
      onSent(n);
    }
  }
  await Promise.all(Array.from({ length: connections }, (_, i) => worker(i)));
  return { sent };
}

/**
 * Runs the fuzz. Options: host, port, count, seed (1), tcpShare (0.2 of the packets over TCP),
 * sources (loopback source addresses, 16), socketsPerSource (1), window (512 unanswered UDP
 * packets at most), connections (8 concurrent TCP), onProgress(sentSoFar) every ~1% of count.
 */
export async function runFuzz(options) {
  const { host = '127.0.0.1', port, count, seed = 1, tcpShare = 0.2, onProgress } = options;
  if (!isLoopback(host)) throw new Error(`refusing to fuzz ${host}: only loopback (127.0.0.0/8, ::1) is allowed`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port must be 1-65535 (got ${port})`);
  const sources = sourceAddresses(host, options.sources ?? 16);
  const tcpCount = Math.round(count * tcpShare);
  const udpCount = count - tcpCount;
  const kinds = {};
  const udpTally = createAnswerTally();
  const tcpTally = createAnswerTally();
  const tcpStats = { connections: 0, resets: 0, errors: 0, stalled: 0 };
  let progress = 0;
  let nextReport = Math.max(1, Math.floor(count / 100));
  const onSent = (n) => {
    progress += n;
    if (onProgress !== undefined && progress >= nextReport) {
      nextReport += Math.max(1, Math.floor(count / 100));
      onProgress(progress);
    }
  };
  const startedAt = performance.now();
  const [udp, tcp] = await Promise.all([
    runUdp({
      host,
      port,
      count: udpCount,
      seed,
      sources,
      socketsPerSource: options.socketsPerSource ?? 1,
      window: options.window ?? 512,
      tally: udpTally,
      kinds,
      onSent,
    }),
    runTcp({
      host,
      port,
      count: tcpCount,
      seed: seed + 1,
      sources: isIP(host) === 6 ? [undefined] : sources,
      connections: options.connections ?? 8,
      tally: tcpTally,
      kinds,
      onSent,
      stats: tcpStats,
    }),
  ]);
  return {
    seed,
    durationMs: performance.now() - startedAt,
    sent: { udp: udp.sent, tcp: tcp.sent, total: udp.sent + tcp.sent },
    answers: { udp: udpTally, tcp: tcpTally },
    tcp: tcpStats,
    kinds,
  };
}

/** Problems with the answers themselves (never expected from a correct server). */
export function answerProblems(result) {
  const problems = [];
  for (const transport of ['udp', 'tcp']) {
    const tally = result.answers[transport];
    if (tally.short > 0) problems.push(`${tally.short} ${transport} answers shorter than a header`);
    if (tally.notResponse > 0) problems.push(`${tally.notResponse} ${transport} answers without QR set`);
    if (tally.unexpectedId > 0) problems.push(`${tally.unexpectedId} ${transport} answers with an ID never sent`);
  }
  if (result.tcp.stalled > 0)
    problems.push(`${result.tcp.stalled} TCP connections neither answered nor closed within 10 s`);
  return problems;
}

function summarizeAnswer(query, answer) {
  if (answer === undefined) return { answered: false };
  const questionEnd = query.length;
  return {
    answered: true,
    idMatches: answer.readUInt16BE(0) === query.readUInt16BE(0),
    rcode: RCODE_NAMES[answer[3] & 0x0f] ?? String(answer[3] & 0x0f),
    answerCount: answer.length >= 12 ? answer.readUInt16BE(6) : 0,
    questionEchoed: answer.length >= questionEnd && answer.subarray(12, questionEnd).equals(query.subarray(12)),
  };
}

/** Asks `qname` once over UDP and once over TCP from 127.0.0.1 (or ::1); resolves with what came back. */
export async function checkNormalQuery({ host = '127.0.0.1', port, qname, timeoutMs = 3000 }) {
  if (!isLoopback(host)) throw new Error(`refusing to query ${host}: only loopback is allowed`);
  const udpQuery = encodeQuery(qname, 0x5151);
  const tcpQuery = encodeQuery(qname, 0x7171);
  const udpAnswer = await new Promise((resolve) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(undefined), timeoutMs);
    function done(answer) {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    }
    socket.on('message', (msg) => done(msg));
    socket.on('error', () => done(undefined));
    socket.send(udpQuery, port, host);
  });
  const tcpAnswer = await new Promise((resolve) => {
    const socket = connect({ host, port });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    function done(answer) {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    }
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(tcpQuery.length, 0);
      socket.write(Buffer.concat([prefix, tcpQuery]));
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0))
        done(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
    });
    socket.on('error', () => done(undefined));
  });
  return { udp: summarizeAnswer(udpQuery, udpAnswer), tcp: summarizeAnswer(tcpQuery, tcpAnswer) };
}
