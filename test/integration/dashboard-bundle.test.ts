/**
 * The dashboard bundle as `npm run build` makes it (scripts/build-web.mjs, run for real into a
 * temporary directory): under the 150 KiB gzip budget for JavaScript, hashed file names, and an
 * index.html without inline script or style (the Content-Security-Policy forbids both).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BUDGET_BYTES = 150 * 1024;
const out = mkdtempSync(join(tmpdir(), 'poolsink-web-build-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

test('the built JavaScript is under budget gzipped; index.html loads hashed files only', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['scripts/build-web.mjs', '--out', out], {
    cwd: ROOT,
  });
  expect(stdout).toMatch(/KiB gzip \(budget 150\.0 KiB\)/);
  const assets = readdirSync(join(out, 'assets'));
  const scripts = assets.filter((name) => name.endsWith('.js'));
  expect(scripts).toHaveLength(1);
  expect(assets.every((name) => /^dashboard-[A-Z0-9]{8}\.(js|css)$/.test(name))).toBe(true);
  const gzipBytes = scripts
    .map((name) => gzipSync(readFileSync(join(out, 'assets', name)), { level: 9 }).length)
    .reduce((a, b) => a + b, 0);
  expect(gzipBytes).toBeLessThan(BUDGET_BYTES);
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|<script(?![^>]*\ssrc="\/assets\/)/);
  for (const name of assets) expect(html).toContain(`/assets/${name}`);
});
