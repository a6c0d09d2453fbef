/**
 * Host identity end to end: inventory files in each cloud's real output format, a real server
 * whose blocked queries come from loopback addresses named by an inventory file, reloads that
 * relabel only new events, bad files that never stop DNS, and reverse DNS through a local upstream
 * answering PTR queries.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { createInventoryFiles } from '../../src/inventory/inventory-files.js';
import { parseInventory } from '../../src/inventory/parse.js';
import { runCli } from '../helpers/cli.js';
import type { LocalUpstreamOptions } from '../helpers/local-upstream.js';
import { blockedFrom, useStacks, type Stack } from '../helpers/stack.js';
import { captureLog } from '../helpers/log-capture.js';
import { until } from '../helpers/wait.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'inventory');

const stacks = useStacks();

function tempDir(): string {
  return stacks.tempDir('poolsink-inventory-');
}

/** The first host of aws-ec2.json, hosts.csv and hosts.yaml: the same instance in each format. */
const WEB_7 = {
  source: 'inventory',
  name: 'web-7',
  instanceId: 'i-0abc1234def567890',
  account: '123456789012',
  region: 'us-east-1',
  tags: { team: 'payments', env: 'prod' },
} as const;

describe('fixtures in each real output format', () => {
  test.each([
    {
      file: 'aws-ec2.json',
      format: 'aws-ec2',
      ips: ['10.0.1.17', '10.0.1.18', '2600:1f18:ab:cd00::17', '54.210.1.17', '10.1.2.3'],
      first: WEB_7,
      skipped: 1,
    },
    {
      file: 'gcp.json',
      format: 'gcp',
      ips: ['10.128.0.5', '34.123.45.67', '10.132.0.9', '2600:1900:4000:9d8c::'],
      first: {
        source: 'inventory',
        name: 'worker-3',
        instanceId: '4567891234567891234',
        account: 'acme-prod',
        region: 'us-central1',
        tags: { team: 'data', env: 'prod' },
      },
      skipped: 0,
    },
    {
      file: 'azure.json',
      format: 'azure',
      ips: ['10.2.0.4', '10.2.0.5', '20.50.60.70', '10.3.1.9'],
      first: {
        source: 'inventory',
        name: 'api-2',
        instanceId: '6f8a2f59-5c3e-4a9b-8b27-0c2d8e5f1a11',
        account: '0b1f6471-1bf0-4dda-aec3-111122223333',
        region: 'westeurope',
        tags: { team: 'payments', owner: 'alice' },
      },
      skipped: 0,
    },
    {
      file: 'hosts.csv',
      format: 'poolsink',
      ips: ['10.0.1.17', '10.0.1.30', 'fd00::1:30'],
      first: WEB_7,
      skipped: 1,
    },
    {
      file: 'hosts.yaml',
      format: 'poolsink',
      ips: ['10.0.1.17', '10.0.2.1', '10.0.2.2', '2001:db8::10'],
      first: WEB_7,
      skipped: 0,
    },
  ] as const)('$file (format auto)', ({ file, format, ips, first, skipped }) => {
    const parsed = parseInventory(readFileSync(join(FIXTURES, file), 'utf8'), 'auto', file);
    expect(parsed.format).toBe(format);
    expect(parsed.entries.map((entry) => entry.ip)).toEqual(ips);
    expect(parsed.entries[0]?.identity).toEqual(first);
    expect(parsed.skipped).toBe(skipped);
  });

  test('the CSV keeps quoted commas and quotes as text', () => {
    const parsed = parseInventory(readFileSync(join(FIXTURES, 'hosts.csv'), 'utf8'), 'auto', 'hosts.csv');
    expect(parsed.entries[1]?.identity).toEqual({
      source: 'inventory',
      name: 'build, runner',
      tags: { team: 'ci', note: 'has "quotes"' },
    });
  });
});

describe('inventory files: reload and keep-last-good', () => {
  test('a changed file is picked up by the poll; a bad one keeps the last good entries and says why', async () => {
    const dir = tempDir();
    const source = join(dir, 'hosts.csv');
    writeFileSync(source, '10.0.0.1,web-7\n');
    const { lines, log } = captureLog('info');
    const changes: string[][] = [];
    const files = createInventoryFiles({
      files: [{ source, format: 'auto' }],
      log,
      pollIntervalMs: 20,
      onChange: (identities) => changes.push([...identities.values()].map((identity) => identity.name ?? '')),
    });
    await files.start();
    try {
      expect(changes).toEqual([['web-7']]);
      writeFileSync(source, '10.0.0.1,web-19\n');
      await until(() => changes.length === 2);
      expect(changes[1]).toEqual(['web-19']);

      writeFileSync(source, '{"Reservations": [ broken');
      await until(() => files.status()[0]?.healthy === false);
      const status = files.status()[0];
      expect(status?.entries).toBe(1);
      expect(status?.lastError).toMatch(/hosts\.csv.*not valid JSON/);
      expect(files.identities().get('10.0.0.1')?.name).toBe('web-19');
      expect(changes).toHaveLength(2);
      await until(() => lines.some((line) => line['msg'] === 'inventory file not loaded; keeping the last good one'));
    } finally {
      files.stop();
    }
  });

  test('a missing file at start is reported, not fatal; it loads once it appears', async () => {
    const dir = tempDir();
    const source = join(dir, 'later.yaml');
    const files = createInventoryFiles({ files: [{ source, format: 'poolsink' }], log: pino({ level: 'silent' }) });
    await files.start();
    try {
      expect(files.status()[0]).toMatchObject({
        healthy: false,
        entries: 0,
        lastError: expect.stringMatching(/later\.yaml/),
      });
      writeFileSync(source, '- { ip: 10.0.0.9, name: late }\n');
      await files.check();
      expect(files.status()[0]).toMatchObject({ healthy: true, entries: 1 });
      expect(files.status()[0]?.lastError).toBeUndefined();
    } finally {
      files.stop();
    }
  });

  test('a file past the size bound is refused before it is read', async () => {
    const dir = tempDir();
    const source = join(dir, 'huge.csv');
    writeFileSync(source, `10.0.0.1,${'x'.repeat(2000)}\n`);
    const files = createInventoryFiles({
      files: [{ source, format: 'auto' }],
      log: pino({ level: 'silent' }),
      maxBytes: 1024,
    });
    await files.start();
    files.stop();
    expect(files.status()[0]?.lastError).toMatch(/larger than 1024 bytes/);
  });
});

interface EventView {
  clientIp: string;
  qname: string;
  identity: Record<string, unknown> | null;
}

function eventsOf(body: unknown): EventView[] {
  if (typeof body !== 'object' || body === null || !('events' in body) || !Array.isArray(body.events)) {
    throw new Error(`not an event page: ${JSON.stringify(body)}`);
  }
  return body.events;
}

/** One blocked query from `clientIp`, its event written to the database. */
async function blockedAndWritten(stack: Stack, clientIp: string, qname: string): Promise<void> {
  await blockedFrom(stack, clientIp, qname, 1);
  stack.poolsink.eventWriter.flush();
}

async function eventsFrom(stack: Stack, clientIp: string): Promise<EventView[]> {
  return eventsOf((await stack.api(`/api/v1/events?client=${clientIp}`)).body);
}

async function startWithInventory(
  inventoryText: string,
  extra: Record<string, unknown> = {},
  upstream: LocalUpstreamOptions = {},
): Promise<Stack> {
  const dir = tempDir();
  writeFileSync(join(dir, 'hosts.csv'), inventoryText);
  return stacks.start({ dir, config: { hosts: { inventory: [{ source: 'hosts.csv' }], ...extra } } }, upstream);
}

describe('a real server with an inventory', () => {
  test('a blocked query is stored with its identity; a reassigned address relabels only new events', async () => {
    const stack = await startWithInventory(
      'ip,name,instanceId,account,region,tags\n127.0.0.2,web-7,i-0abc,123456789012,us-east-1,team=payments\n',
    );
    await blockedAndWritten(stack, '127.0.0.2', 'pool.example');
    const [first] = await eventsFrom(stack, '127.0.0.2');
    expect(first?.identity).toEqual({
      source: 'inventory',
      name: 'web-7',
      instanceId: 'i-0abc',
      account: '123456789012',
      region: 'us-east-1',
      tags: { team: 'payments' },
    });

    writeFileSync(join(stack.dir, 'hosts.csv'), 'ip,name,instanceId\n127.0.0.2,batch-19,i-0new\n');
    await stack.poolsink.hostIdentity.check();
    await blockedAndWritten(stack, '127.0.0.2', 'minexmr.test');
    const events = await eventsFrom(stack, '127.0.0.2');
    expect(events.map((event) => [event.qname, event.identity?.['name']])).toEqual([
      ['minexmr.test', 'batch-19'],
      ['pool.example', 'web-7'],
    ]);
    // The host summary shows the latest identity.
    const host = (await stack.api('/api/v1/hosts/127.0.0.2')).body;
    expect(host).toMatchObject({ host: { identity: { name: 'batch-19', instanceId: 'i-0new' } } });
    const csv = String((await stack.api('/api/v1/events?format=csv&client=127.0.0.2')).body);
    expect(csv.split('\r\n').slice(1, 3)).toEqual([
      expect.stringMatching(/,batch-19,i-0new$/),
      expect.stringMatching(/,web-7,i-0abc$/),
    ]);
    // The command line's tables name the host too (read beside the running server).
    const config = join(stack.dir, 'cli.yaml');
    writeFileSync(config, 'upstreams: ["127.0.0.1:9"]\ndataDir: data\n');
    const hostTable = await runCli(['hosts', '--config', config]);
    expect(hostTable.stdout).toMatch(/^127\.0\.0\.2\s+batch-19 \(i-0new\)\s/m);
    const eventTable = await runCli(['events', '--config', config, '--client', '127.0.0.2']);
    expect(eventTable.stdout).toMatch(/batch-19 \(i-0new\)\s+udp\s+minexmr\.test/);
    expect(eventTable.stdout).toMatch(/web-7 \(i-0abc, team=payments\)\s+udp\s+pool\.example/);
    // A client the inventory does not name has no identity.
    await blockedAndWritten(stack, '127.0.0.3', 'pool.example');
    expect((await eventsFrom(stack, '127.0.0.3'))[0]?.identity).toBeNull();
  });

  test('a bad inventory file: clear error in the status, DNS keeps answering, the last good one stays', async () => {
    const stack = await startWithInventory('127.0.0.2,web-7\n');
    writeFileSync(join(stack.dir, 'hosts.csv'), '\u0000\u0001 not, an, inventory\n[{"ip":');
    await stack.poolsink.hostIdentity.check();
    const status = (await stack.api('/api/v1/inventory')).body;
    expect(status).toMatchObject({
      files: [{ source: join(stack.dir, 'hosts.csv'), healthy: false, entries: 1, lastError: expect.any(String) }],
      identities: 1,
      reverseDns: null,
    });
    expect((await stack.api('/healthz')).body).toMatchObject({ status: 'ok', inventory: { files: 1, failing: 1 } });
    await blockedAndWritten(stack, '127.0.0.2', 'pool.example');
    expect((await eventsFrom(stack, '127.0.0.2'))[0]?.identity?.['name']).toBe('web-7');
  });

  test('an inventory that cannot be read at start does not stop the server', async () => {
    const stack = await stacks.start({
      config: { hosts: { inventory: [{ source: 'missing.json', format: 'aws-ec2' }] } },
    });
    const status = (await stack.api('/api/v1/inventory')).body;
    expect(status).toMatchObject({ files: [{ healthy: false, entries: 0, lastLoad: null, format: 'aws-ec2' }] });
    await blockedAndWritten(stack, '127.0.0.2', 'pool.example');
    expect((await eventsFrom(stack, '127.0.0.2'))[0]?.identity).toBeNull();
  });
});

describe('reverse DNS', () => {
  test('an address no inventory names gets its PTR name, looked up once through the upstream', async () => {
    const stack = await startWithInventory(
      '127.0.0.2,web-7\n',
      { reverseDns: true },
      {
        behavior: (query) =>
          query.qtype === 12
            ? {
                kind: 'answer',
                answers: [
                  {
                    type: 'PTR',
                    target: query.qname.startsWith('4.0.0.127') ? 'laptop-4.corp.test' : 'x.test',
                    ttl: 600,
                  },
                ],
              }
            : { kind: 'default' },
      },
    );
    const up = stacks.upstreamOf(stack);
    await blockedAndWritten(stack, '127.0.0.4', 'pool.example');
    await until(() => stack.poolsink.hostIdentity.status().reverseDns?.names === 1);
    const ptrQueries = up.queries.filter((query) => query.qtype === 12);
    expect(ptrQueries.map((query) => query.qname.toLowerCase())).toEqual(['4.0.0.127.in-addr.arpa']);

    await blockedAndWritten(stack, '127.0.0.4', 'minexmr.test');
    const events = await eventsFrom(stack, '127.0.0.4');
    expect(events[0]?.identity).toEqual({ source: 'reverse-dns', name: 'laptop-4.corp.test' });
    // The first event was recorded before the name was known.
    expect(events[1]?.identity).toBeNull();
    // The inventory's hosts are never looked up.
    await blockedAndWritten(stack, '127.0.0.2', 'pool.example');
    expect((await eventsFrom(stack, '127.0.0.2'))[0]?.identity?.['name']).toBe('web-7');
    expect(up.queries.filter((query) => query.qtype === 12)).toHaveLength(1);
  });
});
