import { pino } from 'pino';
import { expect, test } from 'vitest';
import { createDetectionLog, type Detection } from '../../src/incidents/detection-log.js';

function harness(maxPerMinute: number) {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  let now = 1_000_000;
  const detections = createDetectionLog({ log, clock: () => now, maxPerMinute });
  return { lines, detections, advance: (ms: number) => (now += ms) };
}

const name = (i: number): Detection => ({
  kind: 'name',
  clientIp: '10.0.0.1',
  qname: `p${i}.pool.example`,
  list: 'pools',
  incidentId: 1,
});

test('at most maxPerMinute lines a minute; the rest are counted in one line after the minute', () => {
  const h = harness(3);
  h.detections.write([1, 2, 3, 4, 5].map(name));
  expect(h.lines.map((l) => l.msg)).toEqual([
    'new pool name: 10.0.0.1 asked for p1.pool.example (pools)',
    'new pool name: 10.0.0.1 asked for p2.pool.example (pools)',
    'new pool name: 10.0.0.1 asked for p3.pool.example (pools)',
  ]);
  h.advance(30_000);
  h.detections.flush(); // the minute is not over
  expect(h.lines).toHaveLength(3);
  h.advance(30_000);
  h.detections.flush();
  expect(h.lines.at(-1)).toMatchObject({ suppressed: 2 });
  h.detections.write([name(6)]);
  expect(h.lines.at(-1)?.msg).toBe('new pool name: 10.0.0.1 asked for p6.pool.example (pools)');
});

test('a hostile name is in presentation format, in the message and the field', () => {
  const h = harness(10);
  h.detections.write([
    { kind: 'host', clientIp: '10.0.0.2', qname: 'x\n"y.pool.example', list: 'pools', incidentId: 2 },
  ]);
  expect(h.lines[0]).toMatchObject({
    msg: 'new host blocked: 10.0.0.2 asked for x\\010\\"y.pool.example (pools)',
    qname: 'x\\010\\"y.pool.example',
  });
});
