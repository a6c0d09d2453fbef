import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { isPoolsinkError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'poolsink-config-'));
const resolvConf = join(dir, 'resolv.conf');
writeFileSync(resolvConf, '# test\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n');
const noResolvConf = join(dir, 'missing-resolv.conf');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err: unknown) {
    if (isPoolsinkError(err, 'ERR_CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected a config error');
}

describe('validateConfig', () => {
  test('defaults: loopback listener, private-range ACL, resolv.conf upstreams, nxdomain', () => {
    const config = validateConfig({}, '/base', resolvConf);
    expect(config.dns.listen).toEqual([{ host: '127.0.0.1', port: 5353, family: 4 }]);
    expect(config.dns.allowClients.map((c) => c.text)).toContain('10.0.0.0/8');
    expect(config.dns.allowClients.map((c) => c.text)).not.toContain('0.0.0.0/0');
    expect(config.upstreams).toEqual([
      { host: '127.0.0.53', port: 53, family: 4 },
      { host: '::1', port: 53, family: 6 },
    ]);
    expect(config.block).toEqual({
      response: 'nxdomain',
      sinkholeIpv4: '192.0.2.1',
      sinkholeIpv6: '100::1',
      ttlSec: 60,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.dns)).toBe(true);
  });

  test.each([
    [{ dns: { listen: ['nonsense'] } }, 'dns.listen[0]'],
    [{ dns: { listen: ['127.0.0.1:99999'] } }, 'dns.listen[0]'],
    [{ dns: { listen: [] } }, 'dns.listen'],
    [{ dns: { allowClients: ['10.0.0.0/33'] } }, 'dns.allowClients[0]'],
    [{ dns: { allowClients: ['10.0.0.0/8', '0.0.0.0/0'] } }, 'dns.allowClients[1]: 0.0.0.0/0 admits every address'],
    [{ dns: { allowClients: ['::/0'] } }, 'dns.allowOpenResolver: true'],
    [{ dns: { allowClients: ['10.0.0.0/0'] } }, 'an open resolver'],
    [{ dns: { bogus: 1 } }, 'dns.bogus: unknown key'],
    [{ upstreams: 'x' }, 'upstreams: must be a list'],
    [{ upstreams: ['1.2.3'] }, 'upstreams[0]'],
    [{ upstreams: ['127.0.0.1:5353'] }, 'forwarding loop'],
    [{ dns: { listen: ['0.0.0.0:53'] }, upstreams: ['127.0.0.53:53'] }, 'forwarding loop'],
    [{ block: { response: 'blackhole' } }, 'block.response: must be one of'],
    [{ block: { sinkholeIpv4: '::1' } }, 'block.sinkholeIpv4'],
    [{ block: { ttlSec: -1 } }, 'block.ttlSec'],
    [{ block: { ttlSec: 1.5 } }, 'block.ttlSec: must be an integer'],
    [{ blocklists: [{ name: 'a b', source: 'x' }] }, 'blocklists[0].name'],
    [
      {
        blocklists: [
          { name: 'a', source: 'x' },
          { name: 'a', source: 'y' },
        ],
      },
      'blocklists[1].name: duplicate',
    ],
    [{ blocklists: [{ name: 'a', source: 'x', format: 'csv' }] }, 'blocklists[0].format'],
    [{ blocklists: [{ name: 'a', source: 'x', mode: 'log' }] }, 'blocklists[0].mode'],
    [{ blocklists: [{ name: 'a' }] }, 'blocklists[0].source'],
    [{ allowlist: ['not a domain!'] }, 'allowlist[0]'],
    [{ cache: { minTtlSec: 100, maxTtlSec: 10 } }, 'cache.minTtlSec'],
    [{ cache: { maxEntries: 'many' } }, 'cache.maxEntries: must be an integer'],
    [{ log: { level: 'loud' } }, 'log.level'],
    [{ extra: true }, '(root).extra: unknown key'],
    [{ blocklists: [{ name: 'a', source: 'ftp://lists.example/a.txt' }] }, 'blocklists[0].source'],
    [{ blocklists: [{ name: 'a', source: 'x', refreshSec: 5 }] }, 'blocklists[0].refreshSec'],
    [{ blocklists: [{ name: 'a', source: 'x', maxShrinkPercent: 101 }] }, 'blocklists[0].maxShrinkPercent'],
    [{ dns: { rateLimit: { action: 'tarpit' } } }, 'dns.rateLimit.action'],
    [{ dns: { rateLimit: { qps: -5 } } }, 'dns.rateLimit.qps'],
    [{ database: { retentionDays: 0 } }, 'database.retentionDays'],
    [{ database: { path: '' } }, 'database.path'],
    [{ database: { size: 1 } }, 'database.size: unknown key'],
    [{ admin: { listen: 'localhost' } }, 'admin.listen'],
    [{ admin: { hostnames: ['evil host'] } }, 'admin.hostnames'],
    [{ admin: { token: 'short' } }, 'admin.token'],
    [{ admin: { token: 'a-long-enough-token-123', tokenFile: 't' } }, 'admin.tokenFile'],
    [{ admin: { metricsAuth: 'no' } }, 'admin.metricsAuth'],
  ])('%j is rejected naming %s', (raw, fragment) => {
    expect(errorOf(() => validateConfig(raw, '/base', resolvConf))).toContain(fragment);
  });

  test('state defaults: data dir, database, admin on loopback with a generated token, rate limit on', () => {
    const config = validateConfig({}, '/base', resolvConf);
    expect(config.dataDir).toBe('/base/data');
    expect(config.database).toMatchObject({ path: '/base/data/poolsink.db', retentionDays: 90, maxEvents: 50_000_000 });
    expect(config.admin).toEqual({
      listen: { host: '127.0.0.1', port: 8053, family: 4 },
      metricsAuth: true,
      hostnames: [],
      maxConnectionsPerClient: 16,
    });
    expect(config.dns.rateLimit).toEqual({ qps: 1000, burst: 2000, action: 'refuse' });
    const moved = validateConfig(
      { dataDir: '/var/lib/poolsink', blocklists: [{ name: 'u', source: 'https://lists.example/u.txt' }] },
      '/base',
      resolvConf,
    );
    expect(moved.database.path).toBe('/var/lib/poolsink/poolsink.db');
    expect(moved.blocklists[0]).toMatchObject({
      source: 'https://lists.example/u.txt',
      refreshSec: 86_400,
      maxShrinkPercent: 50,
    });
  });

  test('an open resolver (a /0 in dns.allowClients) only when dns.allowOpenResolver says so', () => {
    const raw = { dns: { allowClients: ['0.0.0.0/0', '::/0'], allowOpenResolver: true } };
    const config = validateConfig(raw, '/base', resolvConf);
    expect(config.dns.allowClients.map((c) => c.text)).toEqual(['0.0.0.0/0', '::/0']);
    expect(validateConfig({}, '/base', resolvConf).dns.allowOpenResolver).toBe(false);
  });

  test('a wildcard listener may forward to another host on port 53 (the VPC resolver)', () => {
    const config = validateConfig(
      { dns: { listen: ['0.0.0.0:53'] }, upstreams: ['10.0.0.2:53', '169.254.169.253'] },
      '/b',
      noResolvConf,
    );
    expect(config.upstreams.map((u) => u.host)).toEqual(['10.0.0.2', '169.254.169.253']);
  });

  test('no upstreams anywhere is an error naming upstreams', () => {
    expect(errorOf(() => validateConfig({}, '/base', noResolvConf))).toContain('upstreams');
  });

  test('IPv6 listen address and explicit upstream ports', () => {
    const config = validateConfig(
      { dns: { listen: ['[::1]:5300'] }, upstreams: ['[::1]:5301', '127.0.0.1'] },
      '/b',
      noResolvConf,
    );
    expect(config.dns.listen[0]).toEqual({ host: '::1', port: 5300, family: 6 });
    expect(config.upstreams).toEqual([
      { host: '::1', port: 5301, family: 6 },
      { host: '127.0.0.1', port: 53, family: 4 },
    ]);
  });
});

describe('loadConfig', () => {
  test('reads YAML, resolves baseDir, applies environment overrides', () => {
    const file = join(dir, 'a.yaml');
    writeFileSync(file, 'upstreams: ["127.0.0.1:5400"]\nblock:\n  response: refused\n');
    const config = loadConfig({
      file,
      resolvConfPath: noResolvConf,
      env: {
        POOLSINK_UPSTREAMS: '127.0.0.2:53, 127.0.0.3:53',
        POOLSINK_LOG_LEVEL: 'warn',
        POOLSINK_LISTEN: '127.0.0.1:0',
      },
    });
    expect(config.baseDir).toBe(dir);
    expect(config.upstreams.map((u) => u.host)).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(config.block.response).toBe('refused');
    expect(config.log.level).toBe('warn');
    expect(config.dns.listen[0]?.port).toBe(0);
  });

  test('a bad environment value names the key it overrides', () => {
    const file = join(dir, 'b.yaml');
    writeFileSync(file, 'upstreams: ["127.0.0.1:5400"]\n');
    expect(errorOf(() => loadConfig({ file, env: { POOLSINK_BLOCK_RESPONSE: 'nope' } }))).toContain('block.response');
    expect(errorOf(() => loadConfig({ file, env: { POOLSINK_CACHE_MAX_ENTRIES: 'lots' } }))).toContain(
      'POOLSINK_CACHE_MAX_ENTRIES',
    );
  });

  test('a bad environment value names the variable as well as the key', () => {
    const file = join(dir, 'b2.yaml');
    writeFileSync(file, 'upstreams: ["127.0.0.1:5400"]\n');
    const cases = [
      [{ POOLSINK_BLOCK_RESPONSE: 'nope' }, 'config block.response (environment variable POOLSINK_BLOCK_RESPONSE):'],
      [{ POOLSINK_LISTEN: 'not-an-address' }, 'config dns.listen[0] (environment variable POOLSINK_LISTEN):'],
      [
        { POOLSINK_CACHE_MAX_ENTRIES: 'lots' },
        'config cache.maxEntries (environment variable POOLSINK_CACHE_MAX_ENTRIES):',
      ],
      [{ POOLSINK_RATE_LIMIT_QPS: '-1' }, 'config dns.rateLimit.qps (environment variable POOLSINK_RATE_LIMIT_QPS):'],
    ] as const;
    for (const [env, expected] of cases) expect(errorOf(() => loadConfig({ file, env }))).toContain(expected);
    // A problem in a key the file set names no variable.
    writeFileSync(file, 'upstreams: ["127.0.0.1:5400"]\nblock:\n  response: nope\n');
    expect(errorOf(() => loadConfig({ file, env: { POOLSINK_LOG_LEVEL: 'warn' } }))).not.toContain('environment');
  });

  test('invalid YAML and a missing file are clear errors', () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'dns: [unclosed\n');
    expect(errorOf(() => loadConfig({ file }))).toContain('not valid YAML');
    expect(() => loadConfig({ file: join(dir, 'nope.yaml') })).toThrow(/cannot read config file/);
  });

  test('the shipped poolsink.yaml is valid and loopback-only', () => {
    const config = loadConfig({
      file: new URL('../../poolsink.yaml', import.meta.url).pathname,
      env: {},
      resolvConfPath: resolvConf,
    });
    expect(config.dns.listen.every((l) => l.host === '127.0.0.1' || l.host === '::1')).toBe(true);
    expect(config.blocklists.map((l) => l.name)).toContain('mining-pools');
  });
});
