import { Histogram, Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { BucketHistogram } from '../../src/admin/bucket-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1];

/** The same observations through prom-client's own Histogram and through BucketHistogram. */
async function bothRendered(observations: readonly [string, number][]) {
  const ours = new BucketHistogram({ name: 'h', help: 'help', labelName: 'kind', buckets: BUCKETS });
  const theirs = new Histogram({ name: 'h', help: 'help', labelNames: ['kind'], buckets: BUCKETS, registers: [] });
  for (const [kind, value] of observations) {
    ours.observeIn(ours.series(kind), value);
    theirs.observe({ kind }, value);
  }
  const render = async (metric: Histogram<string>) => {
    const registry = new Registry();
    registry.registerMetric(metric);
    // Exemplars (null or undefined in prom-client's values) are not supported: compared without them.
    const json = JSON.stringify(await registry.getMetricsAsJSON(), (key, value) =>
      key === 'exemplar' ? undefined : value,
    );
    return { text: await registry.metrics(), json: JSON.parse(json) };
  };
  return { ours: await render(ours), theirs: await render(theirs) };
}

describe('BucketHistogram', () => {
  test.each([
    ['nothing observed', []],
    ['one value on a bound (le is inclusive)', [['a', 0.01]]],
    [
      'values in every bucket, above the last, and at 0, over two series',
      [
        ['a', 0],
        ['a', 0.0005],
        ['b', 0.005],
        ['a', 0.05],
        ['b', 0.1],
        ['a', 7],
      ],
    ],
  ] satisfies [string, [string, number][]][])('renders what prom-client renders: %s', async (_label, observations) => {
    const { ours, theirs } = await bothRendered(observations);
    expect(ours.text).toBe(theirs.text);
    expect(ours.json).toEqual(theirs.json);
  });

  test('a series asked for but not observed is exported at zero', async () => {
    const ours = new BucketHistogram({ name: 'h', help: 'help', labelName: 'kind', buckets: BUCKETS });
    ours.series('idle');
    const registry = new Registry();
    registry.registerMetric(ours);
    const text = await registry.metrics();
    expect(text).toContain('h_bucket{le="+Inf",kind="idle"} 0');
    expect(text).toContain('h_count{kind="idle"} 0');
  });
});
