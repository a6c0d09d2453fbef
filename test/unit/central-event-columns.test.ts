import { describe, expect, test } from 'vitest';
import {
  CENTRAL_EVENT_COLUMNS,
  CENTRAL_EVENT_INSERT,
  toCentralColumns,
  type LocalEventRow,
} from '../../src/central/event-columns.js';
import { centralLocalId, splitCentralLocalId } from '../../src/central/key-space.js';

function row(overrides: Partial<LocalEventRow> = {}): LocalEventRow {
  return {
    id: 7,
    time_ms: 1_700_000_000_000,
    client_ip: '10.0.0.1',
    client_port: 40000,
    protocol: 'udp',
    qname: 'pool.example',
    rname: 'example.pool.',
    qtype: 1,
    list: 'pools',
    rule: 'pool.example',
    action: 'blocked',
    answer: 'nxdomain',
    via: null,
    count: 1,
    last_ms: null,
    identity_json: '{"name":"web-1","source":"inventory"}',
    ...overrides,
  };
}

describe('the local → central event mapping', () => {
  test('one array per central column, in order, one entry per row', () => {
    const columns = toCentralColumns('az-a', [row(), row({ id: 8 })], 0);
    expect(columns).toHaveLength(CENTRAL_EVENT_COLUMNS.length);
    for (const column of columns) expect(column).toHaveLength(2);
    const at = (name: (typeof CENTRAL_EVENT_COLUMNS)[number]) => columns[CENTRAL_EVENT_COLUMNS.indexOf(name)];
    expect(at('instance')).toEqual(['az-a', 'az-a']);
    expect(at('local_id')).toEqual(['7', '8']);
    expect(at('identity')).toEqual([row().identity_json, row().identity_json]);
  });

  test.each([
    [0, 7, '7'],
    [1, 7, '281474976710663'],
    [40, 2 ** 48 - 1, '11540474045136895'],
    [32_767, 1, '9223090561878065153'],
  ])('key space %i, local id %i → central local_id %s, and back', (epoch, localId, central) => {
    expect(centralLocalId(epoch, localId)).toBe(central);
    expect(splitCentralLocalId(central)).toEqual({ epoch, localId });
    const columns = toCentralColumns('az-a', [row({ id: localId })], epoch);
    expect(columns[CENTRAL_EVENT_COLUMNS.indexOf('local_id')]).toEqual([central]);
  });

  test('a coalesced row keeps its count and last time', () => {
    const columns = toCentralColumns('az-a', [row({ count: 42, last_ms: 1_700_000_009_000 }), row()], 0);
    const at = (name: (typeof CENTRAL_EVENT_COLUMNS)[number]) => columns[CENTRAL_EVENT_COLUMNS.indexOf(name)];
    expect(at('count')).toEqual([42, 1]);
    expect(at('last_ms')).toEqual([1_700_000_009_000, null]);
  });

  test.each([
    ['a\u0000b.example', 'a\\000b.example'],
    ['\u00ff\u0080.example', '\u00ff\u0080.example'],
    ['plain.example', 'plain.example'],
  ])('qname %j is stored as %j (PostgreSQL text holds no NUL)', (qname, stored) => {
    const columns = toCentralColumns('az-a', [row({ qname })], 0);
    expect(columns[CENTRAL_EVENT_COLUMNS.indexOf('qname')]).toEqual([stored]);
  });

  test('the INSERT names every column once, with one parameter each, and is idempotent', () => {
    expect(CENTRAL_EVENT_INSERT).toContain(`(${CENTRAL_EVENT_COLUMNS.join(', ')})`);
    expect(CENTRAL_EVENT_INSERT).toContain(`$${CENTRAL_EVENT_COLUMNS.length}::`);
    expect(CENTRAL_EVENT_INSERT).not.toContain(`$${CENTRAL_EVENT_COLUMNS.length + 1}`);
    expect(CENTRAL_EVENT_INSERT).toContain('ON CONFLICT (instance, local_id, time_ms) DO NOTHING');
  });
});
