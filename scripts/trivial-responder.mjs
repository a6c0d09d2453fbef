/**
 * The benchmark's baseline: the least work a Node dgram DNS server can do per query. Every query
 * is answered in place with its own header and first question, QR/RA set and RCODE NXDOMAIN, all
 * other sections dropped. `npm run bench` runs it pinned to the same core as poolsink and measures
 * it the same way, so poolsink's cost can be read as a ratio to this one.
 *
 *   node scripts/trivial-responder.mjs [--host 127.0.0.1] [--port 0]
 *
 * Prints one JSON line {"host","port"} on stdout once bound. Exits when stdin closes (so it never
 * outlives the bench that started it), or on SIGINT/SIGTERM.
 */
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { questionEnd } from './bench/dns-message.mjs';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
});
const host = values.host;
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`trivial-responder: --port must be 0-65535 (got ${values.port})\n`);
  process.exit(2);
}

const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');

socket.on('message', (query, rinfo) => {
  const end = questionEnd(query);
  if (end < 0 || (query[2] & 0x80) !== 0) return; // malformed or a response: drop
  query[2] = 0x80 | (query[2] & 0x79); // QR, keep opcode and RD, clear AA/TC
  query[3] = 0x83; // RA, RCODE NXDOMAIN
  query.fill(0, 6, 12); // ANCOUNT, NSCOUNT, ARCOUNT
  socket.send(query, 0, end, rinfo.port, rinfo.address);
});

socket.on('error', (err) => {
  process.stderr.write(`trivial-responder: ${err.message}\n`);
  process.exit(1);
});

socket.bind(port, host, () => {
  // The same socket buffers as poolsink's UDP listener, so both ride out a descheduling alike.
  socket.setRecvBufferSize(4 * 1024 * 1024);
  socket.setSendBufferSize(4 * 1024 * 1024);
  const address = socket.address();
  process.stdout.write(`${JSON.stringify({ host: address.address, port: address.port })}\n`);
});

function stop() {
  socket.close();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
if (!process.stdin.isTTY) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
