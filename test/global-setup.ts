/**
 * Compiles src/ to dist/ once before the suite, so tests that run the real command line
 * (`node dist/cli.js ...`) exercise exactly what `npm start` runs; bundles the dashboard into
 * dist/web too, which the admin server serves (the browser tests load it).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-web.mjs', import.meta.url))], {
    cwd: root,
    stdio: 'inherit',
  });
}
