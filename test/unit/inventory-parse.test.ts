import { describe, expect, test } from 'vitest';
import { csvFields, csvTags } from '../../src/inventory/formats/poolsink.js';
import { regionOfAvailabilityZone } from '../../src/inventory/formats/aws-ec2.js';
import { canonicalIp, cleanText, MAX_TAGS, MAX_TEXT_CHARS } from '../../src/inventory/inventory-entry.js';
import { detectJsonFormat, parseInventory } from '../../src/inventory/parse.js';
import { isPoolsinkError } from '../../src/errors.js';

const awsDoc = JSON.stringify({
  Reservations: [
    {
      OwnerId: '123456789012',
      Instances: [
        {
          InstanceId: 'i-0abc',
          PrivateIpAddress: '10.0.0.1',
          PublicIpAddress: '54.1.2.3',
          Placement: { AvailabilityZone: 'us-east-1a' },
          NetworkInterfaces: [
            {
              PrivateIpAddresses: [{ PrivateIpAddress: '10.0.0.1' }, { PrivateIpAddress: '10.0.0.2' }],
              Ipv6Addresses: [{ Ipv6Address: '2600:1F18::0:1' }],
            },
          ],
          Tags: [
            { Key: 'Name', Value: 'web-7' },
            { Key: 'team', Value: 'payments' },
          ],
        },
      ],
    },
  ],
});

const gcpDoc = JSON.stringify([
  {
    name: 'worker-3',
    id: '4567',
    zone: 'https://www.googleapis.com/compute/v1/projects/acme/zones/us-central1-a',
    selfLink: 'https://www.googleapis.com/compute/v1/projects/acme/zones/us-central1-a/instances/worker-3',
    labels: { team: 'data' },
    networkInterfaces: [{ networkIP: '10.128.0.5', accessConfigs: [{ natIP: '34.1.2.3' }] }],
  },
]);

const azureDoc = JSON.stringify([
  {
    name: 'api-2',
    vmId: 'vm-uuid',
    location: 'westeurope',
    resourceGroup: 'rg',
    id: '/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/api-2',
    privateIps: '10.2.0.4, 10.2.0.5',
    publicIps: '',
    tags: { team: 'payments' },
  },
]);

describe('parseInventory: each format', () => {
  test.each([
    {
      label: 'aws-ec2',
      text: awsDoc,
      format: 'aws-ec2',
      ips: ['10.0.0.1', '10.0.0.2', '2600:1f18::1', '54.1.2.3'],
      identity: {
        source: 'inventory',
        name: 'web-7',
        instanceId: 'i-0abc',
        account: '123456789012',
        region: 'us-east-1',
        tags: { team: 'payments' },
      },
    },
    {
      label: 'gcp',
      text: gcpDoc,
      format: 'gcp',
      ips: ['10.128.0.5', '34.1.2.3'],
      identity: {
        source: 'inventory',
        name: 'worker-3',
        instanceId: '4567',
        account: 'acme',
        region: 'us-central1',
        tags: { team: 'data' },
      },
    },
    {
      label: 'azure',
      text: azureDoc,
      format: 'azure',
      ips: ['10.2.0.4', '10.2.0.5'],
      identity: {
        source: 'inventory',
        name: 'api-2',
        instanceId: 'vm-uuid',
        account: 'sub-1',
        region: 'westeurope',
        tags: { team: 'payments' },
      },
    },
    {
      label: 'poolsink csv with header',
      text: 'ip,name,instanceId,tags,region\n10.9.0.1,web-1,i-1,team=a;env=b,eu-west-1\n',
      format: 'poolsink',
      ips: ['10.9.0.1'],
      identity: {
        source: 'inventory',
        name: 'web-1',
        instanceId: 'i-1',
        region: 'eu-west-1',
        tags: { team: 'a', env: 'b' },
      },
    },
    {
      label: 'poolsink csv without header',
      text: '10.9.0.1,web-1,i-1,team=a\n',
      format: 'poolsink',
      ips: ['10.9.0.1'],
      identity: { source: 'inventory', name: 'web-1', instanceId: 'i-1', tags: { team: 'a' } },
    },
    {
      label: 'poolsink yaml list',
      text: '- { ip: 10.9.0.1, name: web-1, tags: { team: a } }\n',
      format: 'poolsink',
      ips: ['10.9.0.1'],
      identity: { source: 'inventory', name: 'web-1', tags: { team: 'a' } },
    },
    {
      label: 'poolsink yaml hosts mapping',
      text: 'hosts:\n  - ip: 10.9.0.1\n    name: web-1\n    account: "42"\n',
      format: 'poolsink',
      ips: ['10.9.0.1'],
      identity: { source: 'inventory', name: 'web-1', account: '42' },
    },
  ] as const)('$label (auto-detected)', ({ text, format, ips, identity }) => {
    const parsed = parseInventory(text, 'auto', 'inventory');
    expect(parsed.format).toBe(format);
    expect(parsed.entries.map((entry) => entry.ip)).toEqual(ips);
    expect(parsed.entries[0]?.identity).toEqual(identity);
    // The explicit format gives the same answer.
    expect(parseInventory(text, format, 'inventory').entries).toEqual(parsed.entries);
  });
});

describe('parseInventory: rejects what it cannot read', () => {
  test.each([
    { label: 'empty', text: '  \n', format: 'auto', problem: /empty/ },
    { label: 'broken JSON', text: '{"Reservations": [', format: 'auto', problem: /not valid JSON/ },
    { label: 'broken YAML', text: 'hosts: [a, b\n', format: 'poolsink', problem: /not valid YAML/ },
    { label: 'aws format, wrong shape', text: '[]', format: 'aws-ec2', problem: /Reservations/ },
    { label: 'gcp format, object', text: '{"a":1}', format: 'gcp', problem: /gcloud/ },
    { label: 'azure format, object', text: '{"a":1}', format: 'azure', problem: /az vm list/ },
    { label: 'poolsink yaml scalar', text: 'just text', format: 'poolsink', problem: /list of hosts/ },
  ] as const)('$label', ({ text, format, problem }) => {
    let caught: unknown;
    try {
      parseInventory(text, format, 'inv.json');
    } catch (err: unknown) {
      caught = err;
    }
    expect(isPoolsinkError(caught, 'ERR_INVENTORY_INVALID')).toBe(true);
    expect(String(caught)).toMatch(problem);
    expect(String(caught)).toContain('inv.json');
  });
});

describe('hostile values', () => {
  test('control characters and bidi overrides in names are replaced; text is never interpreted', () => {
    const parsed = parseInventory('10.0.0.1,"evil\u001b[31m\u202ename<script>",i-1,k\u0007=v\n', 'poolsink', 'x.csv');
    const identity = parsed.entries[0]?.identity;
    expect(identity?.name).toBe('evil\ufffd[31m\ufffdname<script>');
    expect(identity?.tags).toEqual({ 'k\ufffd': 'v' });
  });

  test('long fields are cut and tag counts bounded', () => {
    const tags = Array.from({ length: MAX_TAGS + 10 }, (_, i) => `k${i}=v`).join(';');
    const parsed = parseInventory(`10.0.0.1,${'n'.repeat(5000)},i-1,${tags}\n`, 'poolsink', 'x.csv');
    expect(parsed.entries[0]?.identity.name).toHaveLength(MAX_TEXT_CHARS);
    expect(Object.keys(parsed.entries[0]?.identity.tags ?? {})).toHaveLength(MAX_TAGS);
  });

  test('records without a usable address are counted, not fatal', () => {
    const parsed = parseInventory('ip,name\nnot-an-ip,a\n,b\n10.0.0.1,c\n', 'poolsink', 'x.csv');
    expect(parsed.entries.map((entry) => entry.identity.name)).toEqual(['c']);
    expect(parsed.skipped).toBe(2);
  });

  test('YAML alias bombs are refused', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i += 1)
      bomb.push(
        `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(9)
          .fill(`*${i === 0 ? 'a' : 'b'.repeat(i)}`)
          .join(', ')}]`,
      );
    expect(() => parseInventory(bomb.join('\n'), 'poolsink', 'bomb.yaml')).toThrow(/inventory bomb.yaml/);
  });

  test('__proto__ keys in tags stay plain data', () => {
    const parsed = parseInventory(
      '[{"ip":"10.0.0.1","tags":{"__proto__":"x","constructor":"y"}}]',
      'poolsink',
      'p.json',
    );
    const tags = parsed.entries[0]?.identity.tags ?? {};
    expect(Object.getPrototypeOf(tags)).toBe(Object.prototype);
    expect(Object.keys(tags)).toContain('constructor');
  });
});

test.each([
  ['10.0.0.1', '10.0.0.1'],
  [' 10.0.0.1 ', '10.0.0.1'],
  ['2001:DB8:0:0::1', '2001:db8::1'],
  ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
  ['::FFFF:0a00:0001', '::ffff:10.0.0.1'],
  ['10.0.0.256', undefined],
  ['web-7', undefined],
  [42, undefined],
])('canonicalIp(%j) = %j', (input, expected) => {
  expect(canonicalIp(input)).toBe(expected);
});

test.each([
  ['us-east-1a', 'us-east-1'],
  ['us-west-2-lax-1a', 'us-west-2'],
  ['us-gov-west-1b', 'us-gov-west-1'],
  ['nonsense', undefined],
])('regionOfAvailabilityZone(%s) = %s', (zone, region) => {
  expect(regionOfAvailabilityZone(zone)).toBe(region);
});

test.each([
  ['a,b,c', ['a', 'b', 'c']],
  ['"a,b",c', ['a,b', 'c']],
  ['"say ""hi""",x', ['say "hi"', 'x']],
  [' a , b ', ['a', 'b']],
  ['a,,', ['a', '', '']],
])('csvFields(%j)', (line, fields) => {
  expect(csvFields(line)).toEqual(fields);
});

test('csvTags', () => {
  expect(csvTags('a=1; b = 2 ;c;d=x=y')).toEqual([
    ['a', '1'],
    ['b', '2'],
    ['c', ''],
    ['d', 'x=y'],
  ]);
});

test.each([
  [{ Reservations: [] }, 'aws-ec2'],
  [[{ vmId: 'x' }], 'azure'],
  [[{ id: '/subscriptions/s/resourceGroups/r' }], 'azure'],
  [[{ networkInterfaces: [] }], 'gcp'],
  [[{ ip: '10.0.0.1' }], 'poolsink'],
  [[], 'poolsink'],
])('detectJsonFormat(%j) = %s', (doc, format) => {
  expect(detectJsonFormat(doc)).toBe(format);
});

test('cleanText keeps numbers as text', () => {
  expect(cleanText(123456789012)).toBe('123456789012');
  expect(cleanText({})).toBeUndefined();
});

test.each([
  ['a binary file', '\u0000\u0001garbage', /not a text file/],
  ['records without one valid address', 'ip,name\nweb-1,a\nweb-2,b\n', /no usable host records \(2/],
])('%s is refused', (_label, text, problem) => {
  expect(() => parseInventory(text, 'auto', 'x.csv')).toThrow(problem);
});
