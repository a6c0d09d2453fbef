import { describe, expect, test } from 'vitest';
import { createHostCheck } from '../../src/admin/host-check.js';

const check = createHostCheck(['poolsink.internal', 'Admin.Example.']);

describe('Host header check (DNS rebinding)', () => {
  test.each([
    '127.0.0.1',
    '127.0.0.1:8053',
    '10.0.3.17:80',
    '[::1]',
    '[::1]:8053',
    '[2001:db8::1]:8053',
    'localhost',
    'localhost:8053',
    'LOCALHOST:8053',
    'localhost.',
    'poolsink.internal:8053',
    'admin.example',
  ])('accepts %s', (host) => {
    expect(check(host, 1)).toBe(true);
  });

  test.each([
    'attacker.example',
    'attacker.example:8053',
    '127.0.0.1.nip.io',
    'localhost.attacker.example',
    'app.localhost',
    'poolsink.internal.attacker.example',
    '::1',
    '[::1',
    '[::1]x',
    '[127.0.0.1]',
    '127.0.0.1:',
    '127.0.0.1:80:80',
    '127.0.0.1:123456',
    ':8053',
    '',
    '0x7f000001',
  ])('refuses %j', (host) => {
    expect(check(host, 1)).toBe(false);
  });

  test('a missing Host is accepted from HTTP/1.0 only', () => {
    expect(check(undefined, 0)).toBe(true);
    expect(check(undefined, 1)).toBe(false);
  });
});
