import { expect, test } from 'vitest';
import { qtypeName } from '../../src/wire/type-names.js';

test.each([
  [1, 'A'],
  [28, 'AAAA'],
  [65, 'HTTPS'],
  [64, 'SVCB'],
  [255, 'ANY'],
  [257, 'CAA'],
  [0, 'TYPE0'],
  [65534, 'TYPE65534'],
  [65535, 'TYPE65535'],
])('qtype %d is %s', (qtype, name) => {
  expect(qtypeName(qtype)).toBe(name);
});
