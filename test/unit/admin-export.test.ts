import { describe, expect, test } from 'vitest';
import { CSV_COLUMNS, csvChunks, csvField, ndjsonChunks } from '../../src/admin/export.js';
import type { StoredEvent } from '../../src/store/types.js';
import { storedEvent } from '../helpers/block-events.js';

function event(id: number, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return storedEvent(id, Date.UTC(2024, 5, 1, 12, 0, 0) + id, overrides);
}

describe('csvField', () => {
  test.each<[string | number | null, string]>([
    ['pool.example', 'pool.example'],
    [42, '42'],
    [null, ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', 'line\\010break'], // no raw CR, LF or ESC reaches the file
    ['\u001b[2J', '\\027[2J'],
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+1', "'+1"],
    ['-cmd', "'-cmd"],
    ['@SUM(A1)', "'@SUM(A1)"],
  ])('%j → %s', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  test('a name field is in presentation format, still formula-escaped', () => {
    expect(csvField('\r=1;x.pool.example', true)).toBe('\\013=1\\;x.pool.example');
    expect(csvField('-x.pool.example', true)).toBe("'-x.pool.example");
  });
});

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

describe('exports', () => {
  test('csv: a header, then one CRLF line per event in order', async () => {
    const text = (
      await collect(
        csvChunks([
          event(1),
          event(2, { via: 'cdn.pool.example', qname: 'a,b.example' }),
          event(3, { identity: { source: 'inventory', name: '=web-7', instanceId: 'i-0abc' } }),
        ]),
      )
    ).join('');
    const lines = text.split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines[1]).toBe(
      '2024-06-01T12:00:00.001Z,1717243200001,1,10.0.0.1,5353,udp,x.pool.example,1,A,pools,pool.example,blocked,nxdomain,,1,2024-06-01T12:00:00.001Z,,',
    );
    expect(lines[2]).toContain('"a,b.example"');
    expect(lines[2]?.endsWith(',cdn.pool.example,1,2024-06-01T12:00:00.002Z,,')).toBe(true);
    // The identity's name and instance id, the name escaped like any hostile text.
    expect(lines[3]?.endsWith(",'=web-7,i-0abc")).toBe(true);
    expect(lines[4]).toBe('');
  });

  test('csv of nothing is the header alone', async () => {
    expect(await collect(csvChunks([]))).toEqual([`${CSV_COLUMNS.join(',')}\r\n`]);
  });

  test('ndjson: one JSON object per line; large exports come in ~64 KiB chunks', async () => {
    const events = Array.from({ length: 2000 }, (_, i) => event(i + 1));
    const chunks = await collect(ndjsonChunks(events));
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(64 * 1024);
    const lines = chunks.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(2000);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      id: 1,
      time: '2024-06-01T12:00:00.001Z',
      clientIp: '10.0.0.1',
      via: null,
    });
  });

  test('chunks are produced lazily, so a consumer can stop early', async () => {
    let pulled = 0;
    function* source(): Generator<StoredEvent> {
      for (let i = 1; i <= 100_000; i++) {
        pulled++;
        yield event(i);
      }
    }
    const iterator = ndjsonChunks(source())[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.return?.();
    expect(pulled).toBeLessThan(1000);
  });

  test('an asynchronous source (pages from the reader thread) gives the same chunks', async () => {
    const events = Array.from({ length: 1500 }, (_, i) => event(i + 1));
    async function* pages(): AsyncGenerator<StoredEvent> {
      for (let i = 0; i < events.length; i += 100) {
        await new Promise((r) => setImmediate(r));
        yield* events.slice(i, i + 100);
      }
    }
    expect(await collect(ndjsonChunks(pages()))).toEqual(await collect(ndjsonChunks(events)));
  });
});
