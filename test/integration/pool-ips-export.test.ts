/**
 * GET /api/v1/pool-ips from the real stack (an ip list from a file plus addresses learned from a
 * local upstream), checked by the firewall tools themselves: `nft -c -f` and `nft -f` on the
 * nftables output, `ipset restore` on the iptables output, each inside a network namespace this
 * test creates (so nothing touches the machine's own firewall), loaded twice to show a reload
 * replaces the sets. Suricata is not installable here: its rules go through the rule-syntax parser.
 * The namespace checks need root and nft/ipset/ip; without them they are skipped, saying why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { behaviors, startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { parseSuricataRules } from '../helpers/suricata-rules.js';
import { parseList } from '../../src/blocklist/parse.js';

const NAMESPACE = `poolsink-feed-${process.pid}`;

function missingTool(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need CAP_SYS_ADMIN';
  for (const tool of ['ip', 'nft', 'ipset']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

let skipReason = missingTool();

function inNamespace(command: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', NAMESPACE, ...command], {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(input !== undefined ? { input } : {}),
  });
}

beforeAll(() => {
  if (skipReason !== undefined) return;
  const added = spawnSync('ip', ['netns', 'add', NAMESPACE], { encoding: 'utf8' });
  if (added.status !== 0) skipReason = `ip netns add failed: ${added.stderr.trim()}`;
});
afterAll(() => {
  if (skipReason === undefined) spawnSync('ip', ['netns', 'del', NAMESPACE]);
});

let upstream: LocalUpstream;
let stack: Stack | undefined;

beforeEach(async () => {
  upstream = await startLocalUpstream({
    behavior: (q) =>
      q.qname === 'xmr.pool.example'
        ? behaviors.answer({
            answers:
              q.qtype === 1 ? [{ type: 'A', address: '198.51.100.10' }] : [{ type: 'AAAA', address: '2001:db8:1::10' }],
          })
        : behaviors.answer({ rcode: 3 }),
  });
  stack = await startStack({
    upstreams: [upstream.address],
    lists: {
      'mining-pools': { text: 'xmr.pool.example\n' },
      'pool-ips': { format: 'ip', text: '203.0.113.0/24\n203.0.113.9\n2001:db8:ff::/48\n' },
    },
    config: { poolIps: { startDelayMs: 0, resolveIntervalMs: 3_600_000, maxQueriesPerSecond: 100 } },
  });
  const learner = stack.poolsink.poolIps.learner;
  await until(() => (learner?.status().rounds ?? 0) >= 1);
});
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await upstream.close();
});

async function feed(format: string): Promise<string> {
  if (stack === undefined) throw new Error('no stack');
  const { status, body } = await stack.api(`/api/v1/pool-ips?format=${format}`);
  expect(status).toBe(200);
  if (typeof body !== 'string') throw new Error(`format ${format}: not text`);
  return body;
}

describe('GET /api/v1/pool-ips', () => {
  test('json: ip list entries and learned addresses with the name, list and last seen', async () => {
    const { status, body } = await (stack as Stack).api('/api/v1/pool-ips');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      entries: [
        { address: '203.0.113.0/24', list: 'pool-ips', source: 'list', mode: 'block', name: null },
        { address: '203.0.113.9', list: 'pool-ips' },
        {
          address: '198.51.100.10',
          list: 'learned-pool-ips',
          source: 'learned',
          mode: 'alert',
          name: 'xmr.pool.example',
        },
        { address: '2001:db8:ff::/48', list: 'pool-ips' },
        { address: '2001:db8:1::10', list: 'learned-pool-ips', name: 'xmr.pool.example' },
      ],
    });
    const learned = (body as { entries: { lastSeen: string | null }[] }).entries[2];
    expect(Date.parse(learned?.lastSeen ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect((await (stack as Stack).api('/api/v1/pool-ips?format=xml')).status).toBe(400);
    expect((await (stack as Stack).api('/api/v1/pool-ips', { token: null })).status).toBe(401);
  });

  test('text parses back as an ip list', async () => {
    const text = await feed('text');
    expect(parseList(text, 'ip').addresses).toEqual([
      '203.0.113.0/24',
      '203.0.113.9',
      '198.51.100.10',
      '2001:db8:ff::/48',
      '2001:db8:1::10',
    ]);
  });

  test('suricata: valid rule syntax, one rule per address', async () => {
    const rules = parseSuricataRules(await feed('suricata'));
    expect(rules.map((rule) => `${rule.action} ${rule.destination}`)).toEqual([
      'drop 203.0.113.0/24',
      'drop 203.0.113.9',
      'drop 198.51.100.10',
      'drop 2001:db8:ff::/48',
      'drop 2001:db8:1::10',
    ]);
    const alerts = parseSuricataRules(await feed('suricata&action=alert'));
    expect(alerts.every((rule) => rule.action === 'alert')).toBe(true);
  });

  test('nftables: nft -c -f accepts it; nft -f loads the sets, twice', async (context) => {
    if (skipReason !== undefined) context.skip(skipReason);
    const file = `${stack?.dir}/pool-ips.nft`;
    writeFileSync(file, await feed('nftables'));
    inNamespace(['nft', '-c', '-f', file]);
    inNamespace(['nft', '-f', file]);
    inNamespace(['nft', '-f', file]); // a reload replaces, not fails
    const v4 = inNamespace(['nft', 'list', 'set', 'inet', 'poolsink', 'pool_ips_v4']);
    expect(v4).toContain('203.0.113.0/24');
    expect(v4).toContain('198.51.100.10');
    const v6 = inNamespace(['nft', 'list', 'set', 'inet', 'poolsink', 'pool_ips_v6']);
    expect(v6).toContain('2001:db8:ff::/48');
    expect(v6).toContain('2001:db8:1::10');
    // A broken file is refused: the check can fail.
    writeFileSync(
      file,
      'table inet poolsink {\n\tset x {\n\t\ttype ipv4_addr\n\t\telements = { 2001:db8::1 }\n\t}\n}\n',
    );
    expect(() => inNamespace(['nft', '-c', '-f', file])).toThrow();
    inNamespace(['nft', 'delete', 'table', 'inet', 'poolsink']);
  });

  test('iptables: ipset restore loads hash:net sets, twice', async (context) => {
    if (skipReason !== undefined) context.skip(skipReason);
    const input = await feed('iptables');
    inNamespace(['ipset', 'restore'], input);
    inNamespace(['ipset', 'restore'], input);
    const v4 = inNamespace(['ipset', 'list', 'poolsink-v4']);
    expect(v4).toContain('Type: hash:net');
    for (const member of ['203.0.113.0/24', '203.0.113.9', '198.51.100.10']) expect(v4).toContain(member);
    const v6 = inNamespace(['ipset', 'list', 'poolsink-v6']);
    for (const member of ['2001:db8:ff::/48', '2001:db8:1::10']) expect(v6).toContain(member);
    expect(inNamespace(['ipset', 'list', '-n'])).not.toContain('-next');
    expect(() => inNamespace(['ipset', 'restore'], 'add poolsink-v4 not-an-address\n')).toThrow();
    inNamespace(['ipset', 'destroy', 'poolsink-v4']);
    inNamespace(['ipset', 'destroy', 'poolsink-v6']);
  });
});
