/**
 * A cheap local upstream for the cache-miss load: answers every A query with the question echoed
 * and one A record (name as a 0xC00C pointer, TTL 300, 127.0.0.2); any other QTYPE gets an empty
 * NOERROR. Each answer is a few copies into a pooled buffer, so this process stays far from being
 * the bottleneck. UDP only.
 *
 *   node scripts/bench/upstream.mjs [--host 127.0.0.1] [--port 0] [--ttl 300]
 *
 * Prints one JSON line {"host","port"} on stdout once bound; exits when stdin closes or on
 * SIGINT/SIGTERM.
 */
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { portArg, serveUntilStopped } from './responder-process.mjs';
import { questionEnd, questionType } from './dns-message.mjs';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    ttl: { type: 'string', default: '300' },
  },
});
const host = values.host;
const port = portArg('upstream', values.port);
const ttlSec = Number(values.ttl);
if (!Number.isInteger(ttlSec) || ttlSec < 0) {
  process.stderr.write(`upstream: --ttl must be a whole number of seconds (got ${values.ttl})\n`);
  process.exit(2);
}

const TYPE_A = 1;
const ANSWER_A = Buffer.from([
  0xc0,
  0x0c, // name: pointer to the question name
  0x00,
  0x01, // TYPE A
  0x00,
  0x01, // CLASS IN
  (ttlSec >>> 24) & 0xff,
  (ttlSec >>> 16) & 0xff,
  (ttlSec >>> 8) & 0xff,
  ttlSec & 0xff,
  0x00,
  0x04, // RDLENGTH
  127,
  0,
  0,
  2,
]);
const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');

socket.on('message', (query, rinfo) => {
  const end = questionEnd(query);
  if (end < 0 || (query[2] & 0x80) !== 0) return;
  const isA = questionType(query, end) === TYPE_A;
  // A fresh buffer per answer: dgram may still hold it after send() returns.
  const response = Buffer.allocUnsafe(isA ? end + ANSWER_A.length : end);
  query.copy(response, 0, 0, end);
  response[2] = 0x80 | (query[2] & 0x79); // QR, opcode and RD from the query
  response[3] = 0x80; // RA, NOERROR
  response.fill(0, 6, 12);
  if (isA) {
    response[7] = 1; // ANCOUNT
    ANSWER_A.copy(response, end);
  }
  socket.send(response, rinfo.port, rinfo.address);
});

serveUntilStopped(socket, { name: 'upstream', host, port });
