/** A pino logger whose lines a test reads back: raw (to look for a secret anywhere) and parsed. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface CapturedLog {
  readonly log: Logger;
  /** Each line parsed, in order. */
  readonly lines: Record<string, unknown>[];
  /** Everything written, as written. */
  text(): string;
}

export function captureLog(level: pino.Level = 'info'): CapturedLog {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8');
      raw.push(text);
      lines.push(JSON.parse(text));
      done();
    },
  });
  return { log: pino({ level }, stream), lines, text: () => raw.join('') };
}
