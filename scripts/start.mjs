// `npm start`: builds dist/ only when a source is newer than dist/cli.js, then runs
// `poolsink serve --config poolsink.yaml` in THIS process (no child), so the SIGTERM or SIGINT npm
// forwards reaches the server itself and no node is left running behind npm.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');

function newestMtimeMs(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/** The older of the server's and the dashboard's build outputs; -1 when either is missing. */
function builtMtimeMs() {
  try {
    return Math.min(statSync(cli).mtimeMs, statSync(join(root, 'dist', 'web', 'index.html')).mtimeMs);
  } catch {
    return -1; // not built yet
  }
}

function needsBuild() {
  const sources = ['src', 'web', 'scripts/build-web.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map(
    (p) => join(root, p),
  );
  return Math.max(...sources.map(newestMtimeMs)) > builtMtimeMs();
}

if (needsBuild()) {
  process.stderr.write('poolsink: building dist/ (sources changed)\n');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
  const web = spawnSync(process.execPath, [join(root, 'scripts', 'build-web.mjs')], { cwd: root, stdio: 'inherit' });
  if (web.status !== 0) process.exit(web.status ?? 1);
}
process.argv = [
  process.argv[0] ?? process.execPath,
  cli,
  'serve',
  ...(process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['--config', 'poolsink.yaml']),
];
await import(pathToFileURL(cli).href);
