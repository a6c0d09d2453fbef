/**
 * `docker compose exec poolsink poolsink hosts` as written: no Docker engine runs here, so this
 * reads the facts that make it work (a `poolsink` command on the image's PATH pointing at the
 * built CLI, the image's config where the CLI's lookup finds it, the compose service's name and
 * mount) and runs the CLI through such a link from a directory without a poolsink.yaml.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SYSTEM_CONFIG } from '../../src/config/config-path.js';
import { CLI } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'poolsink-container-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Object.getOwnPropertyDescriptor(value, key)?.value : undefined;
}

/** The runtime (last) stage's instructions, continuation lines joined, comments dropped. */
function runtimeStage(): string[] {
  const joined = read('Dockerfile')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const lines = joined.split('\n').map((l) => l.trim());
  const from = lines.map((l) => l.toUpperCase().startsWith('FROM ')).lastIndexOf(true);
  return lines.slice(from).filter((l) => l !== '');
}

describe('poolsink inside the container', () => {
  const stage = runtimeStage();

  test('the image puts a `poolsink` command on PATH that runs the built CLI, before dropping root', () => {
    const runs = stage.filter((l) => l.startsWith('RUN ')).join('\n');
    expect(runs).toMatch(/ln -s \/app\/dist\/cli\.js \/usr\/local\/bin\/poolsink/);
    expect(runs).toMatch(/chmod 0755 \/app\/dist\/cli\.js/);
    const link = stage.findIndex((l) => l.includes('/usr/local/bin/poolsink'));
    const user = stage.findIndex((l) => l.startsWith('USER '));
    expect(link).toBeGreaterThan(stage.findIndex((l) => l.startsWith('COPY --from=build /src/dist ')));
    expect(link).toBeLessThan(user);
    // A link works as a command because the built file starts with a node shebang.
    expect(read('dist/cli.js').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  test("the image's and compose's configuration sit where the CLI looks without --config", () => {
    expect(stage).toContain(`COPY deploy/poolsink.docker.yaml ${SYSTEM_CONFIG}`);
    const service = field(field(parseYaml(read('docker-compose.yml')), 'services'), 'poolsink');
    expect(field(service, 'volumes')).toContain(`./deploy/poolsink.docker.yaml:${SYSTEM_CONFIG}:ro`);
    expect(read('docker-compose.yml')).toContain('docker compose exec poolsink poolsink hosts');
  });

  test('run through a link named poolsink on PATH, from a directory without a configuration', () => {
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    symlinkSync(CLI, join(bin, 'poolsink'));
    const help = spawnSync('poolsink', ['help', 'hosts'], {
      cwd: tmp,
      env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, POOLSINK_CONFIG: '' },
      encoding: 'utf8',
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/poolsink hosts/);
  });
});
