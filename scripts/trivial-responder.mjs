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
import { portArg, serveUntilStopped } from './bench/responder-process.mjs';
import { questionEnd } from './bench/dns-message.mjs';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
});
const host = values.host;
const port = portArg('trivial-responder', values.port);

const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');

socket.on('message', (query, rinfo) => {
  const end = questionEnd(query);
  if (end < 0 || (query[2] & 0x80) !== 0) return; // malformed or a response: drop
  query[2] = 0x80 | (query[2] & 0x79); // QR, keep opcode and RD, clear AA/TC
  query[3] = 0x83; // RA, RCODE NXDOMAIN
  query.fill(0, 6, 12); // ANCOUNT, NSCOUNT, ARCOUNT
  socket.send(query, 0, end, rinfo.port, rinfo.address);
});

serveUntilStopped(socket, { name: 'trivial-responder', host, port });
