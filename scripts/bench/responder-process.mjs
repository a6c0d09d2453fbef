/**
 * The process life of a bench's dgram responder (scripts/trivial-responder.mjs, bench/upstream.mjs),
 * shared so both start and stop alike: the --port check, the bind with 4 MiB socket buffers (a
 * responder shares a core with dnsperf or poolsink, and a drop while it is descheduled would look
 * like a failure of what is measured), one JSON line {"host","port"} on stdout once bound, and the
 * exit when stdin closes (never outliving the bench that started it) or on SIGINT/SIGTERM. All of
 * it runs once at start: the per-packet handler stays in each responder.
 */

/** `text` as a port number 0-65535; otherwise exits 2 with a message naming `name`'s --port. */
export function portArg(name, text) {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`${name}: --port must be 0-65535 (got ${text})\n`);
    process.exit(2);
  }
  return port;
}

/** Binds `socket` (its 'message' handler already set) and runs until stdin closes or a signal. */
export function serveUntilStopped(socket, { name, host, port }) {
  socket.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });

  socket.bind(port, host, () => {
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
}
