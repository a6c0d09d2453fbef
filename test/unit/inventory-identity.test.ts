import { expect, test } from 'vitest';
import { createIdentitySnapshot } from '../../src/inventory/identity-snapshot.js';
import { createIdentityMirror } from '../../src/inventory/identity-mirror.js';
import { buildPtrQuery, ptrName, readPtrAnswer } from '../../src/inventory/ptr-wire.js';
import { identityKey } from '../../src/store/host-identities.js';
import { identityLabel } from '../../src/inventory/identity-label.js';

test.each([
  ['10.0.0.1', '1.0.0.10.in-addr.arpa'],
  ['192.0.2.255', '255.2.0.192.in-addr.arpa'],
  ['2001:db8::1', `1.0.0.0.${'0.'.repeat(20)}8.b.d.0.1.0.0.2.ip6.arpa`],
  ['web-7', undefined],
])('ptrName(%s) = %s', (ip, name) => {
  expect(ptrName(ip)).toBe(name);
});

/** A response to `query` with the given rcode and answer records (raw bytes after the question). */
function response(query: Buffer, rcode: number, answerCount: number, answers: Buffer): Buffer {
  const message = Buffer.concat([query, answers]);
  message.writeUInt16BE(0x8180 | rcode, 2);
  message.writeUInt16BE(answerCount, 6);
  return message;
}

function ptrRecord(target: Buffer, ttl: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(12, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(ttl, 6);
  head.writeUInt16BE(target.length, 10);
  return Buffer.concat([head, target]);
}

const host = Buffer.from([6, ...Buffer.from('web-07'), 4, ...Buffer.from('corp'), 0]);

test('a PTR query carries one question, RD set; its answer reads back', () => {
  const { wire, questionEnd } = buildPtrQuery('1.0.0.10.in-addr.arpa');
  expect(questionEnd).toBe(wire.length);
  expect(wire.readUInt16BE(2)).toBe(0x0100);
  expect(wire.readUInt16BE(questionEnd - 4)).toBe(12);
  expect(readPtrAnswer(response(wire, 0, 1, ptrRecord(host, 600)))).toEqual({
    kind: 'name',
    name: 'web-07.corp',
    ttlSec: 600,
  });
  expect(readPtrAnswer(response(wire, 3, 0, Buffer.alloc(0)))).toEqual({ kind: 'none', ttlSec: -1 });
  expect(readPtrAnswer(response(wire, 2, 0, Buffer.alloc(0)))).toEqual({ kind: 'failed' });
});

test.each([
  ['an rdata running past the end', (wire: Buffer) => response(wire, 0, 1, ptrRecord(host, 60).subarray(0, 16))],
  ['a forward pointer in the rdata', (wire: Buffer) => response(wire, 0, 1, ptrRecord(Buffer.from([0xc0, 0xff]), 60))],
  ['a query, not a response', (wire: Buffer) => wire],
  ['too short', () => Buffer.alloc(5)],
])('a hostile answer (%s) reads as failed or empty, never a crash', (_label, make) => {
  const { wire } = buildPtrQuery('1.0.0.10.in-addr.arpa');
  expect(['failed', 'none']).toContain(readPtrAnswer(make(wire)).kind);
});

test('the snapshot: inventory wins over PTR names; replaced wholesale; misses reported once per interval', () => {
  const snapshot = createIdentitySnapshot({ reaskMs: 1000 });
  snapshot.apply({ inventory: [['10.0.0.1', { source: 'inventory', name: 'web-7' }]] });
  snapshot.apply({
    reverseSet: [
      ['10.0.0.1', { source: 'reverse-dns', name: 'ptr' }],
      ['10.0.0.2', { source: 'reverse-dns', name: 'b' }],
    ],
  });
  expect(snapshot.identityFor('10.0.0.1')?.name).toBe('web-7');
  expect(snapshot.identityFor('10.0.0.2')?.name).toBe('b');
  snapshot.apply({ inventory: [], reverseDelete: ['10.0.0.2'] });
  expect(snapshot.identityFor('10.0.0.1')?.name).toBe('ptr');
  expect(snapshot.identityFor('10.0.0.2')).toBeUndefined();

  snapshot.noteMiss('10.0.0.3', 0);
  expect(snapshot.takeMisses()).toEqual([]);
  snapshot.apply({ reportMisses: true });
  snapshot.noteMiss('10.0.0.3', 0);
  snapshot.noteMiss('10.0.0.3', 500);
  expect(snapshot.takeMisses()).toEqual(['10.0.0.3']);
  snapshot.noteMiss('10.0.0.3', 999);
  expect(snapshot.takeMisses()).toEqual([]);
  snapshot.noteMiss('10.0.0.3', 1000);
  expect(snapshot.takeMisses()).toEqual(['10.0.0.3']);
});

test('the mirror rebuilds the whole snapshot for a restarted writer', () => {
  const mirror = createIdentityMirror();
  expect(mirror.full()).toBeUndefined();
  mirror.apply({ inventory: [['10.0.0.1', { source: 'inventory', name: 'a' }]], reportMisses: true });
  mirror.apply({ reverseSet: [['10.0.0.2', { source: 'reverse-dns', name: 'b' }]] });
  mirror.apply({ reverseDelete: ['10.0.0.2'], reverseSet: [['10.0.0.3', { source: 'reverse-dns', name: 'c' }]] });
  const rebuilt = createIdentitySnapshot();
  const full = mirror.full();
  if (full !== undefined) rebuilt.apply(full);
  expect(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => rebuilt.identityFor(ip)?.name)).toEqual([
    'a',
    undefined,
    'c',
  ]);
});

test('identity keys: equal identities (tags in any order) share a key; any difference does not', () => {
  const a = identityKey({ source: 'inventory', name: 'w', tags: { a: '1', b: '2' } });
  expect(identityKey({ source: 'inventory', name: 'w', tags: { b: '2', a: '1' } })).toBe(a);
  expect(identityKey({ source: 'reverse-dns', name: 'w', tags: { a: '1', b: '2' } })).not.toBe(a);
  expect(identityKey({ source: 'inventory', name: 'w', instanceId: 'i', tags: { a: '1', b: '2' } })).not.toBe(a);
});

test.each([
  [undefined, ''],
  [
    { source: 'inventory', name: 'web-7', instanceId: 'i-0abc', tags: { team: 'payments' } },
    'web-7 (i-0abc, team=payments)',
  ],
  [{ source: 'inventory', instanceId: 'i-0abc', tags: { solo: '' } }, 'i-0abc (solo)'],
  [{ source: 'reverse-dns', name: 'laptop.corp' }, 'laptop.corp'],
  [{ source: 'inventory', name: 'x'.repeat(100) }, `${'x'.repeat(79)}…`],
] as const)('identityLabel(%j) = %j', (identity, label) => {
  expect(identityLabel(identity)).toBe(label);
});
