/**
 * The lists the default configuration (poolsink.yaml) enables, loaded through the real config
 * loader, list source and parser, as a matcher. URL feeds are read from their copies in
 * ../shared/blocklists where present (tests never fetch from the internet); without that folder
 * (a user's clone) they are skipped and named in `skipped`.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { loadListFile, listSourceOf } from '../../src/blocklist/list-source.js';
import { createMatcher, type DomainMatcher, type ListInput } from '../../src/blocklist/matcher.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sharedLists = fileURLToPath(new URL('../../../shared/blocklists/', import.meta.url));

/** Public feeds a default configuration may name by URL, and where ../shared/blocklists keeps a copy. */
export const SHARED_COPIES: Readonly<Record<string, string>> = {
  'CoinMiner.txt': 'anudeepnd-coinminer/CoinMiner.txt',
  'hosts.txt': 'nocoin/hosts.txt',
  'nocoin.txt': 'nocoin/nocoin.txt',
};

export interface DefaultLists {
  /** Every list loaded, in configuration order (the order decides which list owns a name). */
  readonly inputs: readonly ListInput[];
  /** Names of the lists loaded, and of the URL lists without a local copy. */
  readonly used: readonly string[];
  readonly skipped: readonly string[];
  /** Names of the lists whose source is a file: what protects from the first query, offline. */
  readonly files: readonly string[];
  matcher(filter?: (list: ListInput) => boolean): DomainMatcher;
}

export async function loadDefaultLists(): Promise<DefaultLists> {
  const tempDir = mkdtempSync(join(tmpdir(), 'poolsink-defaults-'));
  try {
    const resolvConf = join(tempDir, 'resolv.conf');
    writeFileSync(resolvConf, 'nameserver 127.0.0.53\n');
    const config = loadConfig({ file: join(repoRoot, 'poolsink.yaml'), env: {}, resolvConfPath: resolvConf });
    const inputs: ListInput[] = [];
    const used: string[] = [];
    const skipped: string[] = [];
    const files: string[] = [];
    for (const list of config.blocklists) {
      const source = listSourceOf(list.source, config.baseDir);
      let path: string | undefined;
      if (source.kind === 'file') {
        path = source.path;
        files.push(list.name);
      } else {
        const copy = SHARED_COPIES[basename(new URL(source.url).pathname)];
        if (copy !== undefined && existsSync(join(sharedLists, copy))) path = join(sharedLists, copy);
      }
      if (path === undefined) {
        skipped.push(list.name);
        continue;
      }
      inputs.push(
        await loadListFile({ name: list.name, source: path, format: list.format, mode: list.mode }, repoRoot),
      );
      used.push(list.name);
    }
    return {
      inputs,
      used,
      skipped,
      files,
      matcher: (filter = () => true) => createMatcher(inputs.filter(filter), []),
    };
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}
