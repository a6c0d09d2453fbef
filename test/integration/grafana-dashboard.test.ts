/**
 * deploy/grafana/poolsink.json references only metrics poolsink exports: the names are read from a
 * real server's /metrics (its `# TYPE` lines), never from a list kept in this test.
 */
import { readFileSync } from 'node:fs';
import { afterEach, expect, test } from 'vitest';
import { udpExchange } from '../helpers/clients.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DASHBOARD = new URL('../../deploy/grafana/poolsink.json', import.meta.url);

const upstreams: LocalUpstream[] = [];
const stacks: Stack[] = [];

afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

/** Every PromQL expression in the dashboard: panel targets and templating queries. */
function expressions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) expressions(item, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'expr' || key === 'query' || key === 'definition') && typeof value === 'string') out.push(value);
      else expressions(value, out);
    }
  }
  return out;
}

/** Sample names a scrape can hold: each `# TYPE` name, with _bucket, _sum and _count for histograms. */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', kind] = match;
    names.add(name);
    if (kind === 'histogram' || kind === 'summary')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

test('every metric the Grafana dashboard queries is one poolsink exports', async () => {
  const up = await startLocalUpstream();
  upstreams.push(up);
  const stack = await startStack({ upstreams: [up.address] });
  stacks.push(stack);
  // A blocked and a forwarded query, so the labelled series exist too.
  for (const [id, name] of [
    [1, 'pool.example'],
    [2, 'allowed.example'],
  ] as const) {
    expect(await udpExchange(stack.port, encodeQuery(name, { id }))).toBeDefined();
  }
  const scrape = await stack.api('/metrics');
  expect(scrape.status).toBe(200);
  const exported = exportedNames(String(scrape.body));
  expect(exported.size).toBeGreaterThan(10);
  expect(String(scrape.body)).toMatch(/^poolsink_list_matches_total\{list="pools",action="blocked"\} 1$/m);

  const queries = expressions(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
  expect(queries.length).toBeGreaterThan(10);
  const referenced = new Set<string>();
  for (const query of queries.filter((q) => q !== 'prometheus')) {
    const names = [...query.matchAll(/\bpoolsink_[A-Za-z0-9_:]+/g)].map((m) => m[0]);
    expect(names.length, `no poolsink metric in ${query}`).toBeGreaterThan(0);
    for (const name of names) referenced.add(name);
  }
  const unknown = [...referenced].filter((name) => !exported.has(name));
  expect(unknown).toEqual([]);
  for (const name of [
    'poolsink_dns_query_outcomes_total',
    'poolsink_list_matches_total',
    'poolsink_events_dropped_total',
  ])
    expect(referenced).toContain(name);
}, 60_000);
