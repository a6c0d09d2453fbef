/**
 * GET /api/v1/config's masking (src/config/secrets.ts): every config key whose name says secret is
 * annotated in the schema, annotated and unknown keys are masked, URL credentials are masked
 * wherever they appear, and the rest is shown as loaded.
 */
import { Type } from '@sinclair/typebox';
import { describe, expect, test } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { ConfigFileSchema } from '../../src/config/schema.js';
import { MASK, effectiveConfig, maskSecrets, maskUrlCredentials } from '../../src/config/secrets.js';

type Node = Readonly<Record<string, unknown>>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every named property of the schema, with its path and schema. */
function properties(schema: Node, path = ''): { path: string; name: string; schema: Node }[] {
  const out: { path: string; name: string; schema: Node }[] = [];
  const visit = (child: unknown, childPath: string): void => {
    if (isNode(child)) out.push(...properties(child, childPath));
  };
  if (isNode(schema['properties'])) {
    for (const [name, child] of Object.entries(schema['properties'])) {
      const childPath = path === '' ? name : `${path}.${name}`;
      if (isNode(child)) out.push({ path: childPath, name, schema: child });
      visit(child, childPath);
    }
  }
  visit(schema['items'], `${path}[]`);
  if (isNode(schema['patternProperties']))
    for (const child of Object.values(schema['patternProperties'])) visit(child, `${path}.*`);
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const variants = schema[key];
    if (Array.isArray(variants)) for (const v of variants) visit(v, path);
  }
  return out;
}

/** Names that say "this holds a credential"; `...File` keys are paths to one, shown as paths. */
const SECRET_NAME = /token|secret|password|passwd|authorization|credential|api.?key|^url$|^headers$/i;

describe('the config schema marks its secrets', () => {
  const all = properties(ConfigFileSchema);

  test('the walk sees the schema (sanity)', () => {
    expect(all.map((p) => p.path)).toEqual(
      expect.arrayContaining(['admin.token', 'admin.tokenFile', 'notify[].url', 'notify[].headers', 'dns.listen']),
    );
  });

  test.each(all.filter((p) => SECRET_NAME.test(p.name) && !p.name.endsWith('File')).map((p) => [p.path, p.schema]))(
    '%s is secret: true',
    (_path, schema) => {
      expect(schema['secret']).toBe(true);
    },
  );
});

describe('maskSecrets', () => {
  const schema = Type.Object({
    plain: Type.String(),
    token: Type.String({ secret: true }),
    headers: Type.Record(Type.String(), Type.String(), { secret: true }),
    items: Type.Array(Type.Object({ source: Type.String(), port: Type.Integer() })),
  });

  test.each([
    ['a plain value is shown', { plain: 'x' }, { plain: 'x' }, []],
    ['a secret is masked', { token: 't0ken' }, { token: MASK }, ['token']],
    [
      'each value of a secret record is masked, its keys kept',
      { headers: { Authorization: 'Bearer b', 'X-Key': 'k' } },
      { headers: { Authorization: MASK, 'X-Key': MASK } },
      ['headers.Authorization', 'headers.X-Key'],
    ],
    [
      'URL credentials are masked anywhere',
      { items: [{ source: 'https://user:pass@lists.example/a.txt', port: 1 }] },
      { items: [{ source: `https://${MASK}@lists.example/a.txt`, port: 1 }] },
      ['items[0].source'],
    ],
    ['a key the schema does not describe is masked', { loadedSecret: 'pem' }, { loadedSecret: MASK }, ['loadedSecret']],
    ['a derived plain key is shown', { baseDir: '/etc/poolsink' }, { baseDir: '/etc/poolsink' }, []],
  ])('%s', (_name, value, config, masked) => {
    expect(maskSecrets(value, schema)).toEqual({ config, masked });
  });

  test.each([
    ['https://u:p@h.example/x', `https://${MASK}@h.example/x`],
    ['http://token@h.example', `http://${MASK}@h.example`],
    ['see ftp://a:b@h/ and https://c@d/', `see ftp://${MASK}@h/ and https://${MASK}@d/`],
    ['https://h.example/a@b', 'https://h.example/a@b'],
    ['/var/lib/pools.txt', '/var/lib/pools.txt'],
    ['user@example.com', 'user@example.com'],
  ])('maskUrlCredentials(%j)', (text, shown) => {
    expect(maskUrlCredentials(text)).toBe(shown);
  });
});

describe('effectiveConfig', () => {
  test('a loaded config: addresses as text, token, sink URLs and headers masked, nothing secret left', () => {
    const config = validateConfig(
      {
        dns: { listen: ['127.0.0.1:5353'], allowClients: ['127.0.0.0/8'] },
        upstreams: ['127.0.0.1:53'],
        admin: { token: 'admin-token-0123456789abcdef' },
        blocklists: [{ name: 'pools', source: 'https://lister:listpass@lists.example/pools.txt' }],
        notify: [
          {
            name: 'hook',
            type: 'webhook',
            events: ['incident.opened'],
            url: 'https://hooks.example/T0/B0/slack-like-secret',
            headers: { Authorization: 'Bearer header-secret' },
          },
          { name: 'chat', type: 'slack', events: ['incident.opened'], url: 'https://hooks.slack.com/services/T/B/xyz' },
        ],
      },
      '/etc/poolsink',
    );
    const { config: shown, masked } = effectiveConfig(config);
    const text = JSON.stringify(shown);
    for (const secret of ['admin-token-0123456789abcdef', 'listpass', 'slack-like-secret', 'header-secret', 'xyz'])
      expect(text).not.toContain(secret);
    expect(masked).toEqual(
      expect.arrayContaining([
        'admin.token',
        'blocklists[0].source',
        'notify[0].url',
        'notify[0].headers.Authorization',
        'notify[1].url',
      ]),
    );
    expect(shown).toMatchObject({
      baseDir: '/etc/poolsink',
      dns: { listen: ['127.0.0.1:5353'], allowClients: ['127.0.0.0/8'] },
      upstreams: ['127.0.0.1:53'],
      admin: { listen: '127.0.0.1:8053', token: MASK, metricsAuth: true },
      database: { retentionDays: 90, path: '/etc/poolsink/data/poolsink.db' },
      notify: [
        { name: 'hook', perMinute: 30, timeoutMs: 10_000 },
        { name: 'chat', type: 'slack' },
      ],
    });
  });
});
