import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import { loadListFile, type ListSourceConfig } from '../../src/blocklist/list-source.js';
import { createMatcher, type DomainMatcher } from '../../src/blocklist/matcher.js';
import { normalizeDomain } from '../../src/net/domain-name.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixturesDir = fileURLToPath(new URL('../fixtures/lists/', import.meta.url));

async function loadError(cfg: ListSourceConfig, baseDir: string): Promise<unknown> {
  try {
    await loadListFile(cfg, baseDir);
  } catch (err: unknown) {
    return err;
  }
  throw new Error(`loading ${cfg.source} did not fail`);
}

describe('loadListFile', () => {
  test('resolves a relative source against baseDir and parses it', async () => {
    const list = await loadListFile({ name: 'small', source: 'small-hosts.txt', format: 'auto' }, fixturesDir);
    expect(list).toEqual({
      name: 'small',
      source: 'small-hosts.txt',
      format: 'hosts',
      mode: 'block',
      entries: 3,
      skipped: 4,
      skippedByReason: { localhost: 3, ip: 1 },
      domains: ['pool.example.com', 'xmr.example.net', 'pool.example.com'],
      wildcards: [],
    });
  });

  test('takes an absolute source as is and keeps the configured mode and format', async () => {
    const source = `${fixturesDir}small-hosts.txt`;
    const list = await loadListFile({ name: 'abs', source, format: 'hosts', mode: 'alert' }, '/nonexistent-base');
    expect(list.mode).toBe('alert');
    expect(list.format).toBe('hosts');
    expect(list.source).toBe(source);
    expect(list.domains).toContain('xmr.example.net');
  });

  test('a missing file is ERR_LIST_READ naming the list and the path, with the cause', async () => {
    const err = await loadError({ name: 'gone', source: 'missing.txt', format: 'auto' }, fixturesDir);
    expect(isPoolsinkError(err, 'ERR_LIST_READ')).toBe(true);
    const message = err instanceof Error ? err.message : '';
    expect(message).toContain('"gone"');
    expect(message).toContain(`${fixturesDir}missing.txt`);
    const cause = err instanceof Error ? err.cause : undefined;
    expect(cause).toMatchObject({ code: 'ENOENT' });
  });

  test('a directory is ERR_LIST_READ', async () => {
    const err = await loadError({ name: 'dir', source: '.', format: 'auto' }, fixturesDir);
    expect(isPoolsinkError(err, 'ERR_LIST_READ')).toBe(true);
    expect(err instanceof Error ? err.cause : undefined).toMatchObject({ code: 'EISDIR' });
  });

  test.each(['http://lists.example/pools.txt', 'https://lists.example/pools.txt', 'HTTPS://lists.example/x'])(
    'URL source %s is ERR_LIST_READ: not supported yet',
    async (source) => {
      const err = await loadError({ name: 'remote', source, format: 'auto' }, fixturesDir);
      expect(isPoolsinkError(err, 'ERR_LIST_READ')).toBe(true);
      expect(String(err)).toContain('URL sources are not supported yet');
      expect(String(err)).toContain('"remote"');
    },
  );
});

describe('bundled blocklists/mining-pools.txt', () => {
  const cfg: ListSourceConfig = { name: 'mining-pools', source: 'blocklists/mining-pools.txt', format: 'auto' };
  let matcher: DomainMatcher;
  beforeAll(async () => {
    matcher = createMatcher([await loadListFile(cfg, repoRoot)], []);
  });

  test('is a clean plain-domain list with a header', async () => {
    const list = await loadListFile(cfg, repoRoot);
    expect(list.format).toBe('domains');
    expect(list.skipped).toBe(0);
    expect(list.wildcards).toEqual([]);
    expect(list.entries).toBeGreaterThanOrEqual(150);
    expect(new Set(list.domains).size).toBe(list.domains.length); // no duplicates
    for (const name of list.domains) expect(normalizeDomain(name)).toBe(name);
    const text = readFileSync(`${repoRoot}blocklists/mining-pools.txt`, 'utf8');
    expect(text.startsWith('# ')).toBe(true);
    const entryLines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(entryLines).toEqual(list.domains); // one bare name per line, already normalized
  });

  test('no entry is a parent of another (the parent already covers it)', async () => {
    const list = await loadListFile(cfg, repoRoot);
    const names = new Set(list.domains);
    const redundant = list.domains.filter((name) => {
      for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
        if (names.has(name.slice(dot + 1))) return true;
      }
      return false;
    });
    expect(redundant).toEqual([]);
  });

  const mustNotBlock = [
    // clouds and their APIs
    'ec2.us-east-1.amazonaws.com',
    's3.amazonaws.com',
    'sts.amazonaws.com',
    'storage.googleapis.com',
    'compute.googleapis.com',
    'metadata.google.internal',
    'management.azure.com',
    'login.microsoftonline.com',
    'blob.core.windows.net',
    'api.cloudflare.com',
    'cloudfront.net',
    // package registries and code hosting
    'registry.npmjs.org',
    'pypi.org',
    'files.pythonhosted.org',
    'github.com',
    'api.github.com',
    'objects.githubusercontent.com',
    'docker.io',
    'registry-1.docker.io',
    'ghcr.io',
    'deb.debian.org',
    'archive.ubuntu.com',
    // exchanges, wallets and explorers
    'binance.com',
    'api.binance.com',
    'coinbase.com',
    'kraken.com',
    'blockchain.com',
    'etherscan.io',
    'btc.com',
    'explorer.btc.com',
    'bitcoin.com',
    // coin projects, software sites, company apexes, news
    'getmonero.org',
    'bitcoin.org',
    'ethereum.org',
    'xmrig.com',
    'nicehash.com',
    'www.nicehash.com',
    'braiins.com',
    'luxor.tech',
    'emcd.io',
    'dxpool.com',
    'stake.dxpool.com',
    'verus.io',
    'coindesk.com',
    'cointelegraph.com',
  ];

  test.each(mustNotBlock)('allows %s', (qname) => {
    expect(matcher.match(qname)).toEqual({ kind: 'allow' });
  });

  test.each([
    ['pool.supportxmr.com', 'supportxmr.com'],
    ['gulf.moneroocean.stream', 'moneroocean.stream'],
    ['xmr-eu1.nanopool.org', 'nanopool.org'],
    ['rx.unmineable.com', 'unmineable.com'],
    ['pool.hashvault.pro', 'hashvault.pro'],
    ['xmr.kryptex.network', 'kryptex.network'],
    ['randomxmonero.auto.nicehash.com', 'auto.nicehash.com'],
    ['donate.v2.xmrig.com', 'donate.v2.xmrig.com'],
    ['donate.ssl.xmrig.com', 'donate.ssl.xmrig.com'],
    ['coinhive.com', 'coinhive.com'],
    ['stratum.antpool.com', 'antpool.com'],
    ['btc.global.luxor.tech', 'global.luxor.tech'],
    ['eu.ss.btc.com', 'ss.btc.com'],
  ])('blocks %s by %s', (qname, rule) => {
    expect(matcher.match(qname)).toEqual({ kind: 'block', list: 'mining-pools', listIndex: 0, mode: 'block', rule });
  });
});
