import { describe, expect, test } from 'vitest';
import { isLoopbackAddress } from '../../src/net/address.js';

describe('isLoopbackAddress: decides the admin API plain-HTTP warning', () => {
  test.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['fd00::1', false],
    ['::ffff:10.0.0.1', false],
    ['localhost', false], // not an IP literal: admin.listen takes none
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackAddress(host)).toBe(loopback);
  });
});
