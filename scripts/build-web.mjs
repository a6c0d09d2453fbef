// Bundles the dashboard (web/) with esbuild into dist/web: index.html plus hashed assets/ files,
// no inline script or style (the admin server's Content-Security-Policy forbids both). Prints the
// JavaScript size, raw and gzipped; fails above the budget.
//   node scripts/build-web.mjs [--out <dir>]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Compressed JavaScript budget (issue 12). */
const GZIP_BUDGET_BYTES = 150 * 1024;

const root = fileURLToPath(new URL('..', import.meta.url));
const outIndex = process.argv.indexOf('--out');
const outDir = outIndex > 0 ? process.argv[outIndex + 1] : join(root, 'dist', 'web');
if (outDir === undefined) throw new Error('--out needs a directory');

rmSync(outDir, { recursive: true, force: true });
mkdirSync(join(outDir, 'assets'), { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['web/main.tsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: join(outDir, 'assets'),
  entryNames: 'dashboard-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const script = outputs.find(([, output]) => output.entryPoint !== undefined)?.[0];
const style = outputs.find(([path]) => path.endsWith('.css'))?.[0];
if (script === undefined || style === undefined) throw new Error('esbuild produced no script or no stylesheet');
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>poolsink</title>
<link rel="stylesheet" href="/assets/${basename(style)}">
<script type="module" src="/assets/${basename(script)}"></script>
</head>
<body>
<div id="app"><noscript>The poolsink dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
writeFileSync(join(outDir, 'index.html'), html);

const js = readFileSync(join(root, script));
const gzipBytes = gzipSync(js, { level: 9 }).length;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(
  `dashboard: ${relative(root, join(root, script))} ${kib(js.length)}, ${kib(gzipBytes)} gzip (budget ${kib(GZIP_BUDGET_BYTES)})`,
);
if (gzipBytes > GZIP_BUDGET_BYTES) {
  console.error(`dashboard JavaScript is over budget: ${gzipBytes} > ${GZIP_BUDGET_BYTES} bytes gzip`);
  process.exit(1);
}
