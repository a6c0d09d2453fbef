import { describe, expect, test } from 'vitest';
import { createSlicer } from '../../src/blocklist/build.js';
import type { ListSpec } from '../../src/blocklist/definition.js';
import { evaluateList, shrinkProblem, type Baseline } from '../../src/blocklist/update.js';

const spec: ListSpec = {
  name: 'pools',
  source: 'x',
  format: 'auto',
  mode: 'block',
  refreshSec: 86_400,
  maxShrinkPercent: 50,
};

function names(count: number): Buffer {
  return Buffer.from(Array.from({ length: count }, (_, i) => `pool${i}.example\n`).join(''));
}

async function evaluate(body: Buffer, baseline: Baseline, force = false) {
  return evaluateList(body, spec, baseline, force, createSlicer());
}

describe('shrinkProblem', () => {
  test.each<[number, number, number, boolean]>([
    [100, 50, 50, false], // exactly the limit is allowed
    [100, 49, 50, true],
    [100, 100, 50, false],
    [100, 150, 50, false], // growth is never a problem
    [100, 99, 0, true], // 0: any loss is rejected
    [100, 0, 100, false], // 100: anything goes
    [0, 0, 50, false], // nothing to lose
    [3, 1, 50, true],
  ])('%i → %i entries with maxShrinkPercent %i: rejected %s', (previous, next, max, rejected) => {
    expect(shrinkProblem(previous, next, max) !== undefined).toBe(rejected);
  });

  test('the message gives both counts, the loss and the way out', () => {
    expect(shrinkProblem(1000, 10, 50)).toBe(
      'update would shrink the list from 1000 to 10 entries (-99%), more than maxShrinkPercent 50; refresh with force to accept it',
    );
  });
});

describe('evaluateList', () => {
  test('new content is parsed and accepted', async () => {
    const result = await evaluate(names(10), {});
    expect(result).toMatchObject({ kind: 'accepted', entries: 10 });
  });

  test('the same bytes are unchanged, without parsing', async () => {
    const first = await evaluate(names(10), {});
    const again = await evaluate(names(10), { sha256: first.sha256, entries: 10 });
    expect(again).toEqual({ kind: 'unchanged', sha256: first.sha256 });
  });

  test('0 entries is rejected; forced it is accepted', async () => {
    const empty = Buffer.from('# nothing here\n');
    expect(await evaluate(empty, {})).toMatchObject({
      kind: 'rejected',
      message: expect.stringContaining('0 entries'),
    });
    expect(await evaluate(empty, {}, true)).toMatchObject({ kind: 'accepted', entries: 0 });
  });

  test('shrinking past the limit is rejected; forced it is accepted', async () => {
    expect(await evaluate(names(4), { entries: 10 })).toMatchObject({
      kind: 'rejected',
      message: expect.stringContaining('from 10 to 4'),
    });
    expect(await evaluate(names(5), { entries: 10 })).toMatchObject({ kind: 'accepted' });
    expect(await evaluate(names(4), { entries: 10 }, true)).toMatchObject({ kind: 'accepted', entries: 4 });
  });

  test('bytes rejected before are rejected again without parsing; force still parses', async () => {
    const rejected = await evaluate(names(1), { entries: 10 });
    if (rejected.kind !== 'rejected') throw new Error('expected a rejection');
    const baseline: Baseline = { entries: 10, rejected: { sha256: rejected.sha256, message: 'remembered' } };
    expect(await evaluate(names(1), baseline)).toMatchObject({ kind: 'rejected', message: 'remembered' });
    expect(await evaluate(names(1), baseline, true)).toMatchObject({ kind: 'accepted', entries: 1 });
  });

  test('binary content is rejected even when forced', async () => {
    const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);
    expect(await evaluate(binary, {}, true)).toMatchObject({
      kind: 'rejected',
      message: expect.stringContaining('not a text list'),
    });
  });
});
