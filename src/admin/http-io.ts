/**
 * Bytes in and out of the admin server: the JSON request body (type checked, size capped) and the
 * response for each Reply kind, with the headers every response carries. Streams are written
 * chunk by chunk, waiting for the socket to drain, and stop when the client goes away.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpError, InvalidParameterError } from './http-errors.js';
import type { Reply } from './routes.js';

/** On every response: nothing cached, no type sniffing, nothing rendered or framed. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

const JSON_TYPE = 'application/json; charset=utf-8';

/** Reads the whole body as JSON: 415 unless application/json, 413 past `maxBytes`, 400 if not JSON. */
export async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') throw new HttpError('ERR_UNSUPPORTED_MEDIA_TYPE');
  const tooLarge = (): HttpError =>
    // The rest of the body is not read, so the connection cannot be reused.
    new HttpError('ERR_BODY_TOO_LARGE', `the request body is larger than ${maxBytes} bytes`, { connection: 'close' });
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    if (!Buffer.isBuffer(chunk)) continue; // no encoding is set on the request, so always a Buffer
    length += chunk.length;
    if (length > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  if (length === 0) throw new InvalidParameterError('body', 'must not be empty');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, length));
  } catch {
    throw new InvalidParameterError('body', 'is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidParameterError('body', 'is not valid JSON');
  }
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Resolves when the response can take more data or has closed (client gone, socket timeout). */
function drained(response: ServerResponse): Promise<void> {
  if (response.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * Writes a stream reply. The first chunk is produced before the headers go out, so a store that
 * fails at once still gets a JSON error; a failure later can only cut the transfer short (the
 * chunked encoding is left unterminated, so the client sees the export is incomplete).
 */
async function sendStream(
  response: ServerResponse,
  reply: Extract<Reply, { kind: 'stream' }>,
  log: Logger,
): Promise<void> {
  const iterator = reply.chunks[Symbol.asyncIterator]();
  let next = await iterator.next();
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': reply.contentType,
    'content-disposition': `attachment; filename="${reply.filename}"`,
  });
  try {
    while (next.done !== true) {
      if (!response.write(next.value)) await drained(response);
      if (response.destroyed) {
        await iterator.return?.();
        return;
      }
      next = await iterator.next();
    }
    response.end();
  } catch (err: unknown) {
    log.error({ err }, 'admin export failed mid-stream');
    response.destroy();
  }
}

export async function sendReply(response: ServerResponse, reply: Reply, log: Logger): Promise<void> {
  switch (reply.kind) {
    case 'json':
      sendJson(response, reply.status, reply.body);
      return;
    case 'empty':
      response.writeHead(reply.status, SECURITY_HEADERS);
      response.end();
      return;
    case 'text':
      response.writeHead(reply.status, {
        ...SECURITY_HEADERS,
        'content-type': reply.contentType,
        'content-length': Buffer.byteLength(reply.body),
      });
      response.end(reply.body);
      return;
    case 'stream':
      await sendStream(response, reply, log);
      return;
  }
}
