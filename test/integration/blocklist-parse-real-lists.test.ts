/**
 * parseList on the real public lists in ../shared/blocklists (see its README), read from disk:
 * the counts are checked against the files themselves, computed without the parser.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseList } from '../../src/blocklist/parse.js';

const listsDir = new URL('../../../shared/blocklists/', import.meta.url);

function readList(path: string): string {
  return readFileSync(new URL(path, listsDir), 'utf8');
}

/** Trimmed, non-blank lines: the reference side of these tests, computed without the parser. */
function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

describe.skipIf(!existsSync(listsDir))('real lists in ../shared/blocklists', () => {
  test('nocoin.txt (adblock): every rule line is a domain or a counted skip', () => {
    const text = readList('nocoin/nocoin.txt');
    const ruleLines = lines(text).filter((line) => !line.startsWith('!') && !line.startsWith('['));
    const domainRules = ruleLines.filter((line) => {
      const match = /^\|\|([a-z0-9.-]+)\^?(\$.*)?$/.exec(line);
      return match !== null && !/^[\d.]+$/.test(match[1] ?? '') && !line.includes('badfilter');
    });
    const ipRules = ruleLines.filter((line) => /^\|\|\d+\.\d+\.\d+\.\d+\^/.test(line));
    const exceptionRules = ruleLines.filter((line) => line.startsWith('@@'));

    const parsed = parseList(text, 'auto');
    expect(parsed.format).toBe('adblock');
    expect(parsed.domains.length + parsed.wildcards.length + parsed.skipped).toBe(ruleLines.length);
    expect(parsed.domains.length).toBe(domainRules.length);
    expect(parsed.skippedByReason['ip']).toBe(ipRules.length);
    expect(parsed.skippedByReason['exception']).toBe(exceptionRules.length);
    expect(parsed.skippedByReason['path']).toBeGreaterThan(50); // the README: "IP rules, path rules"
    // The README counts ~318 rules.
    expect(ruleLines.length).toBeGreaterThan(300);
    expect(ruleLines.length).toBeLessThan(340);
    expect(parsed.domains).toContain('coinimp.com');
    expect(parsed.domains).not.toContain('dekoder.ws'); // only a path rule names it
  });

  test.each([
    ['nocoin/hosts.txt', 313],
    ['anudeepnd-coinminer/CoinMiner.txt', 5830],
    ['blocklistproject-crypto/crypto.txt', 1274],
  ])('%s (hosts): one domain per 0.0.0.0 line, %i distinct as in the README', (path, readmeCount) => {
    const text = readList(path);
    const names = lines(text)
      .filter((line) => !line.startsWith('#'))
      .map((line) => /^0\.0\.0\.0\s+(\S+)$/.exec(line)?.[1]?.toLowerCase())
      .filter((name) => name !== undefined);
    const parsed = parseList(text, 'auto');
    expect(parsed.format).toBe('hosts');
    expect(parsed.skipped).toBe(0);
    expect(parsed.domains).toEqual(names);
    expect(new Set(parsed.domains).size).toBe(readmeCount);
  });

  test('crypto-ags.txt (adblock) and crypto-nl.txt (domains) hold the same 1,272 names', () => {
    const adblock = parseList(readList('blocklistproject-crypto/crypto-ags.txt'), 'auto');
    const domains = parseList(readList('blocklistproject-crypto/crypto-nl.txt'), 'auto');
    expect(adblock.format).toBe('adblock');
    expect(domains.format).toBe('domains');
    expect(adblock.skipped).toBe(0);
    expect(domains.skipped).toBe(0);
    expect(new Set(adblock.domains)).toEqual(new Set(domains.domains));
    expect(new Set(domains.domains).size).toBe(1272);
  });

  test.each([
    ['stevenblack-unified/domains.txt', 83_808],
    ['stevenblack-large/domains.txt', 171_523],
  ])('%s (domains): %i distinct names as in the README', (path, readmeCount) => {
    const text = readList(path);
    const names = lines(text).filter((line) => !line.startsWith('#'));
    const parsed = parseList(text, 'auto');
    expect(parsed.format).toBe('domains');
    expect(parsed.skipped).toBe(0);
    expect(parsed.domains.length).toBe(names.length);
    expect(new Set(parsed.domains).size).toBe(readmeCount);
  });
});
