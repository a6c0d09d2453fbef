/**
 * Sending one rendered message to one sink: an HTTP POST (webhook, slack) through undici, or a
 * syslog line over UDP, TCP or TLS. Each call resolves once the receiver has taken the message (a
 * 2xx answer; a datagram sent; a TCP/TLS stream written and closed cleanly) and rejects with a
 * short, operator-readable reason otherwise. TCP and TLS use a connection per message: sinks send
 * at most their rate limit a minute, and nothing is left half-open across receiver restarts.
 */
import { createSocket } from 'node:dgram';
import { isIP, connect as connectTcp, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as connectTls } from 'node:tls';
import { request } from 'undici';
import type { NotifySinkConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { octetFrame, slackBody, syslogLine, webhookBody, type OutboxMessage } from './render.js';
import { MESSAGE_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js';

export type SendMessage = (message: OutboxMessage) => Promise<void>;

const MAX_ERROR_BODY = 200;

async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<void> {
  let answer: Awaited<ReturnType<typeof request>>;
  try {
    answer = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'poolsink', ...headers },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err: unknown) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    throw new Error(`POST ${new URL(url).host} failed: ${errorMessage(err)}${cause}`);
  }
  const text = await answer.body.text().catch(() => '');
  if (answer.statusCode < 200 || answer.statusCode > 299) {
    const shown = text.slice(0, MAX_ERROR_BODY).replace(/[^\x20-\x7e]/g, ' ');
    throw new Error(`POST ${new URL(url).host} answered HTTP ${answer.statusCode}${shown === '' ? '' : `: ${shown}`}`);
  }
}

function sendDatagram(host: string, port: number, payload: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new Error(`syslog UDP to ${host}:${port} timed out`)), timeoutMs);
    function finish(err?: Error): void {
      clearTimeout(timer);
      socket.close();
      if (err === undefined) resolve();
      else reject(err);
    }
    socket.on('error', (err) => finish(new Error(`syslog UDP to ${host}:${port} failed: ${err.message}`)));
    socket.send(payload, port, host, (err) =>
      finish(err === null ? undefined : new Error(`syslog UDP: ${err.message}`)),
    );
  });
}

function sendStream(
  open: () => Socket,
  connected: 'connect' | 'secureConnect',
  label: string,
  payload: Buffer,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = open();
    let settled = false;
    function finish(err?: Error): void {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err === undefined) resolve();
      else reject(err);
    }
    socket.setTimeout(timeoutMs, () => finish(new Error(`${label} timed out after ${timeoutMs} ms`)));
    socket.on('error', (err) => finish(new Error(`${label} failed: ${err.message}`)));
    socket.on('close', () => finish(new Error(`${label} closed before the message was sent`)));
    socket.once(connected, () => {
      socket.end(payload, () => finish());
    });
  });
}

/** `clock` stamps webhook signatures (ms since epoch). */
export function createSender(sink: NotifySinkConfig, clock: () => number = Date.now): SendMessage {
  switch (sink.type) {
    case 'webhook':
      return (message) => {
        const body = webhookBody(message);
        const signed: Record<string, string> =
          sink.secret === undefined
            ? {}
            : { [SIGNATURE_HEADER]: signatureHeader(sink.secret, Math.floor(clock() / 1000), body) };
        return post(sink.url, { ...sink.headers, ...signed, [MESSAGE_ID_HEADER]: message.id }, body, sink.timeoutMs);
      };
    case 'slack':
      return (message) => post(sink.url, {}, slackBody(message), sink.timeoutMs);
    case 'syslog': {
      const origin = { hostname: hostname(), procId: process.pid };
      const target = `${sink.host}:${sink.port}`;
      if (sink.transport === 'udp') {
        return (message) =>
          sendDatagram(sink.host, sink.port, Buffer.from(syslogLine(message, origin)), sink.timeoutMs);
      }
      const open =
        sink.transport === 'tcp'
          ? () => connectTcp({ host: sink.host, port: sink.port })
          : () =>
              connectTls({
                host: sink.host,
                port: sink.port,
                ...(sink.ca !== undefined ? { ca: sink.ca } : {}),
                servername: sink.servername ?? (isIP(sink.host) === 0 ? sink.host : ''),
              });
      const label = `syslog ${sink.transport.toUpperCase()} to ${target}`;
      const connected = sink.transport === 'tcp' ? 'connect' : 'secureConnect';
      return (message) => sendStream(open, connected, label, octetFrame(syslogLine(message, origin)), sink.timeoutMs);
    }
  }
}
