import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { expect, test } from 'vitest';
import { createFailedAuthLog } from '../../src/admin/failed-auth-log.js';

function capture(): { lines: Record<string, unknown>[]; log: Logger } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, sink) };
}

test('tracks at most maxSources addresses; failures from the others are summed in one line', () => {
  const { lines, log } = capture();
  const failures = createFailedAuthLog({ log, intervalMs: 60_000, maxSources: 2 });
  for (let i = 1; i <= 5; i++) for (let n = 0; n < 3; n++) failures.record(`10.0.0.${i}`, 'GET', '/api/v1/hosts');
  expect(lines.map((line) => line['client'])).toEqual(['10.0.0.1', '10.0.0.2']);
  failures.close();
  expect(lines.slice(2)).toMatchObject([
    { client: '10.0.0.1', count: 2 },
    { client: '10.0.0.2', count: 2 },
    { sources: 'untracked', count: 9 },
  ]);
});
