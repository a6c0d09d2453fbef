/**
 * The default configuration must not break cloud workloads: cloud provider APIs, package
 * registries, code hosting, exchanges and wallets stay reachable. Checked against every list
 * poolsink.yaml enables (URL feeds through their copies in ../shared/blocklists where present),
 * and against doh-bypass.txt on its own, as it would be with `mode: block` (the default
 * configuration has it in alert mode).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadListFile } from '../../src/blocklist/list-source.js';
import { createMatcher, type DomainMatcher } from '../../src/blocklist/matcher.js';
import { normalizeDomain } from '../../src/net/domain-name.js';
import { loadDefaultLists, repoRoot, SHARED_COPIES, sharedLists } from '../helpers/default-lists.js';

/** Names cloud workloads reach every day. None of them is mining infrastructure. */
const CLOUD_NEEDS = [
  // AWS
  'ec2.us-east-1.amazonaws.com',
  's3.amazonaws.com',
  'my-bucket.s3.eu-west-1.amazonaws.com',
  'sts.amazonaws.com',
  'api.ecr.us-east-1.amazonaws.com',
  '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  'ssm.us-east-1.amazonaws.com',
  'logs.us-east-1.amazonaws.com',
  'eks.us-east-1.amazonaws.com',
  'kms.us-east-1.amazonaws.com',
  'd111111abcdef8.cloudfront.net',
  // Google Cloud
  'storage.googleapis.com',
  'compute.googleapis.com',
  'oauth2.googleapis.com',
  'gcr.io',
  'us-docker.pkg.dev',
  'metadata.google.internal',
  // Azure and Microsoft
  'management.azure.com',
  'login.microsoftonline.com',
  'myaccount.blob.core.windows.net',
  'myvault.vault.azure.net',
  'myregistry.azurecr.io',
  'mcr.microsoft.com',
  'packages.microsoft.com',
  // other clouds and CDNs
  'api.cloudflare.com',
  'api.digitalocean.com',
  'api.linode.com',
  'cdn.jsdelivr.net',
  // package registries and distributions
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'pypi.org',
  'files.pythonhosted.org',
  'proxy.golang.org',
  'sum.golang.org',
  'crates.io',
  'static.crates.io',
  'index.crates.io',
  'rubygems.org',
  'repo.maven.apache.org',
  'repo1.maven.org',
  'plugins.gradle.org',
  'api.nuget.org',
  'deb.debian.org',
  'security.debian.org',
  'archive.ubuntu.com',
  'security.ubuntu.com',
  'dl-cdn.alpinelinux.org',
  'dl.fedoraproject.org',
  // containers and code hosting
  'registry-1.docker.io',
  'auth.docker.io',
  'production.cloudflare.docker.com',
  'download.docker.com',
  'ghcr.io',
  'quay.io',
  'registry.k8s.io',
  'github.com',
  'api.github.com',
  'codeload.github.com',
  'objects.githubusercontent.com',
  'raw.githubusercontent.com',
  'someone.github.io',
  'gitlab.com',
  'bitbucket.org',
  // exchanges, wallets and blockchain APIs
  'coinbase.com',
  'api.coinbase.com',
  'binance.com',
  'api.binance.com',
  'kraken.com',
  'api.kraken.com',
  'gemini.com',
  'bitstamp.net',
  'metamask.io',
  'ledger.com',
  'trezor.io',
  'blockchain.com',
  'etherscan.io',
  'mainnet.infura.io',
  'alchemy.com',
];

let defaults: { matcher: DomainMatcher; used: readonly string[]; skipped: readonly string[] };
let dohBypass: DomainMatcher;

beforeAll(async () => {
  const lists = await loadDefaultLists();
  defaults = { matcher: lists.matcher(), used: lists.used, skipped: lists.skipped };
  const doh = await loadListFile({ name: 'doh-bypass', source: 'blocklists/doh-bypass.txt', format: 'auto' }, repoRoot);
  dohBypass = createMatcher([doh], []);
});

test('the names are ~80 distinct, valid DNS names', () => {
  expect(new Set(CLOUD_NEEDS).size).toBe(CLOUD_NEEDS.length);
  expect(CLOUD_NEEDS.length).toBeGreaterThanOrEqual(60);
  for (const name of CLOUD_NEEDS) expect(normalizeDomain(name)).toBe(name);
});

describe('the default configuration (poolsink.yaml)', () => {
  test('enables the bundled mining-pool list and checks every list it could load', () => {
    expect(defaults.used).toContain('mining-pools');
    // URL feeds are checked through their copies in ../shared/blocklists; without that folder
    // (a user's clone) only they may be skipped, never a file list.
    expect(defaults.skipped).toEqual(existsSync(sharedLists) ? [] : ['nocoin', 'coinminer']);
  });

  test.each(CLOUD_NEEDS)('does not block %s', (qname) => {
    expect(defaults.matcher.match(qname)).toEqual({ kind: 'allow' });
  });

  test('has doh-bypass last and in alert mode: DoH resolvers are reported, never blocked', () => {
    expect(defaults.used.at(-1)).toBe('doh-bypass');
    expect(defaults.matcher.lists.find((list) => list.name === 'doh-bypass')?.mode).toBe('alert');
    expect(defaults.matcher.match('dns.google')).toMatchObject({ kind: 'block', list: 'doh-bypass', mode: 'alert' });
  });
});

describe('blocklists/doh-bypass.txt (alert mode by default; also safe in block mode)', () => {
  test.each(CLOUD_NEEDS)('does not block %s', (qname) => {
    expect(dohBypass.match(qname)).toEqual({ kind: 'allow' });
  });

  test.each([
    'google.com',
    'www.google.com',
    'cloudflare.com',
    'www.cloudflare.com',
    'quad9.net',
    'www.quad9.net',
    'adguard.com',
    'opendns.com',
  ])('leaves the provider company domain %s alone', (qname) => {
    expect(dohBypass.match(qname)).toEqual({ kind: 'allow' });
  });

  test.each([
    'use-application-dns.net',
    'dns.google',
    'dns.google.com',
    'mozilla.cloudflare-dns.com',
    'one.one.one.one',
    'dns.quad9.net',
    'doh.opendns.com',
    'dns.adguard-dns.com',
    'abc123.dns.nextdns.io',
    'doh.cleanbrowsing.org',
    'doh.xfinity.com',
  ])('blocks %s', (qname) => {
    expect(dohBypass.match(qname).kind).toBe('block');
  });

  test('is a clean plain-domain list with a header and no redundant entries', async () => {
    const list = await loadListFile(
      { name: 'doh-bypass', source: 'blocklists/doh-bypass.txt', format: 'auto' },
      repoRoot,
    );
    expect(list.format).toBe('domains');
    expect(list.skipped).toBe(0);
    expect(new Set(list.domains).size).toBe(list.domains.length);
    const names = new Set(list.domains);
    const redundant = list.domains.filter((name) => {
      for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1))
        if (names.has(name.slice(dot + 1))) return true;
      return false;
    });
    expect(redundant).toEqual([]);
  });
});

describe.skipIf(!existsSync(sharedLists))('the public mining feeds recommended for poolsink.yaml', () => {
  test.each(Object.values(SHARED_COPIES))('%s does not block what clouds need', async (copy) => {
    const list = await loadListFile({ name: copy, source: join(sharedLists, copy), format: 'auto' }, repoRoot);
    const matcher = createMatcher([list], []);
    expect(CLOUD_NEEDS.filter((qname) => matcher.match(qname).kind !== 'allow')).toEqual([]);
  });
});
