import { describe, expect, test } from 'vitest';
import { literalLookup } from '../../src/net/literal-lookup.js';

describe('literalLookup', () => {
  test.each([
    ['127.0.0.1', 4],
    ['10.255.0.7', 4],
    ['::1', 6],
    ['fd00::53', 6],
    ['::ffff:192.0.2.1', 6],
  ])('%s is answered at once, as itself (family %i)', (address, family) => {
    let answered: [string, number] | undefined;
    literalLookup(address, 4, (err, result, resultFamily) => {
      expect(err).toBeNull();
      answered = [result, resultFamily];
    });
    // Synchronously: dgram's send goes on without a tick.
    expect(answered).toEqual([address, family]);
  });
});
