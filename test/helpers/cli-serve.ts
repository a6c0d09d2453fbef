/**
 * The set-up of tests that run `node dist/cli.js serve` as a child process: a temporary directory
 * holding pools.txt (pool.example), a local upstream, and the server started from a configuration
 * file there. close() kills a server still running, stops the upstream and removes the directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliServer, type CliServer } from './cli.js';
import { startLocalUpstream, type LocalUpstream } from './local-upstream.js';

export interface ServeSandbox {
  readonly dir: string;
  readonly upstream: LocalUpstream;
  /**
   * Writes `<dir>/poolsink.yaml` and returns its path: DNS on 127.0.0.1:0 (with `dns`'s keys),
   * the local upstream, the list `pools` (pools.txt), info logs, the admin API on 127.0.0.1:0
   * (with `admin`'s keys), then `rest` (YAML lines).
   */
  writeConfig(parts?: { dns?: string; admin?: string; rest?: string }): string;
  /** Starts `poolsink serve --config <file>` in the directory. */
  serve(configFile: string): CliServer;
  close(): Promise<void>;
}

export async function openServeSandbox(prefix: string): Promise<ServeSandbox> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'pools.txt'), 'pool.example\n');
  const upstream = await startLocalUpstream();
  let server: CliServer | undefined;
  return {
    dir,
    upstream,
    writeConfig({ dns = '', admin = '', rest = '' } = {}) {
      const file = join(dir, 'poolsink.yaml');
      writeFileSync(
        file,
        `dns: { listen: ["127.0.0.1:0"]${dns} }\nupstreams: ["${upstream.address}"]\n` +
          'blocklists: [{ name: pools, source: pools.txt }]\nlog: { level: info }\n' +
          `admin: { listen: "127.0.0.1:0"${admin} }\n${rest}`,
      );
      return file;
    },
    serve(configFile) {
      server = startCliServer(['serve', '--config', configFile], { cwd: dir });
      return server;
    },
    async close() {
      if (server !== undefined && server.child.exitCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
      server = undefined;
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The port of the first address in a start line's `listen` (a list) or `admin` (one address) field. */
export function portOf(field: unknown): number {
  const address = Array.isArray(field) ? field[0] : field;
  if (typeof address !== 'string') throw new Error(`not an address: ${JSON.stringify(field)}`);
  return Number(address.split(':').pop());
}
