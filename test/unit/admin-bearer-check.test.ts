import { describe, expect, test } from 'vitest';
import { createBearerCheck } from '../../src/admin/auth.js';

describe('createBearerCheck', () => {
  const check = createBearerCheck('correct-token-0123456789');
  test.each<[string | undefined, boolean]>([
    ['Bearer correct-token-0123456789', true],
    ['bearer correct-token-0123456789', true],
    ['Bearer  correct-token-0123456789 ', true],
    [undefined, false],
    ['', false],
    ['Bearer', false],
    ['Bearer ', false],
    ['Basic correct-token-0123456789', false],
    ['correct-token-0123456789', false],
    ['Bearer correct-token-012345678', false],
    ['Bearer correct-token-01234567890', false],
    ['Bearer correct-token-0123456789 extra', false],
    [`Bearer ${'x'.repeat(10_000)}`, false],
  ])('%.60j → %s', (header, expected) => {
    expect(check(header)).toBe(expected);
  });
});
