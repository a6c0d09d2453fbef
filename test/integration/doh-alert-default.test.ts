/**
 * The default configuration watches public DNS-over-HTTPS resolvers without blocking them: the
 * doh-bypass list is in alert mode with severity low. Started with poolsink.yaml's own file lists
 * (its URL feeds are left out: tests never reach the internet) and a local upstream, a query for a
 * DoH resolver is forwarded and answered as usual, and recorded as an alert that opens a
 * low-severity incident; a pool name is still blocked.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { listSourceOf } from '../../src/blocklist/list-source.js';
import { loadConfig } from '../../src/config/load.js';
import { dig } from '../helpers/clients.js';
import { defaultIpv4, startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let upstream: LocalUpstream | undefined;
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  await upstream?.close();
  stack = undefined;
  upstream = undefined;
});

/** poolsink.yaml's file lists, every setting as configured, sources made absolute. */
function defaultFileLists(): Record<string, unknown>[] {
  const config = loadConfig({ file: `${repoRoot}poolsink.yaml`, env: { POOLSINK_UPSTREAMS: '127.0.0.1' } });
  return config.blocklists.flatMap((list) => {
    const source = listSourceOf(list.source, config.baseDir);
    return source.kind === 'file' ? [{ ...list, source: source.path }] : [];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The incidents the admin API shows once the events so far are written. */
async function incidents(s: Stack): Promise<Record<string, unknown>[]> {
  s.poolsink.eventWriter.flush();
  const { status, body } = await s.api('/api/v1/incidents');
  expect(status).toBe(200);
  return isRecord(body) && Array.isArray(body['incidents']) ? body['incidents'].filter(isRecord) : [];
}

test('poolsink.yaml ships doh-bypass in alert mode with severity low, after the mining lists', () => {
  const lists = defaultFileLists();
  expect(lists.map((list) => list['name'])).toEqual(['mining-pools', 'doh-bypass']);
  expect(lists[1]).toMatchObject({ name: 'doh-bypass', mode: 'alert', severity: 'low' });
});

test('a DoH resolver name is forwarded and answered as usual, and recorded as an alert', async () => {
  upstream = await startLocalUpstream();
  stack = await startStack({ upstreams: [upstream.address], config: { blocklists: defaultFileLists() } });

  const doh = await dig(stack.port, ['dns.google', 'A']);
  expect(doh.status).toBe('NOERROR');
  expect(doh.answers).toEqual([`dns.google. 300 IN A ${defaultIpv4('dns.google')}`]);
  expect(doh.ede).toBeUndefined();
  expect(upstream.queries.map((query) => query.qname)).toEqual(['dns.google']);
  expect(stack.events).toMatchObject([
    { qname: 'dns.google', list: 'doh-bypass', rule: 'dns.google', action: 'alerted', answer: 'forwarded' },
  ]);

  // The mining list still blocks, and the alert list does not count as a block.
  const pool = await dig(stack.port, ['pool.supportxmr.com', 'A']);
  expect(pool.status).toBe('NXDOMAIN');
  expect(stack.events.map((event) => `${event.list} ${event.action}`)).toEqual([
    'doh-bypass alerted',
    'mining-pools blocked',
  ]);

  // One host, one incident: opened low by the alert, raised to high by the block.
  const open = await incidents(stack);
  expect(open).toHaveLength(1);
  expect(open[0]).toMatchObject({ clientIp: '127.0.0.1', severity: 'high' });
});

test('an alert from the DoH list alone opens an incident of severity low', async () => {
  upstream = await startLocalUpstream();
  stack = await startStack({ upstreams: [upstream.address], config: { blocklists: defaultFileLists() } });

  expect((await dig(stack.port, ['mozilla.cloudflare-dns.com', 'AAAA'])).status).toBe('NOERROR');
  expect(stack.events).toMatchObject([{ list: 'doh-bypass', rule: 'cloudflare-dns.com', action: 'alerted' }]);

  const open = await incidents(stack);
  expect(open).toHaveLength(1);
  expect(open[0]).toMatchObject({ clientIp: '127.0.0.1', severity: 'low', state: 'open' });
});
