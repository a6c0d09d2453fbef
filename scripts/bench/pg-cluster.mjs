/**
 * A throwaway PostgreSQL cluster for the central benches, as test/helpers/postgres-server.ts starts
 * one for the tests: initdb into a temp directory (as the `postgres` user when run as root),
 * loopback TCP only, a private socket directory, a `poolsink` database. `settings` are extra
 * `-c` server settings (a bench may trade durability for seeding speed).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const BIN = process.env.POSTGRES_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

function runPg(binary, args) {
  const path = join(BIN, binary);
  execFileSync(asRoot ? 'runuser' : path, asRoot ? ['-u', 'postgres', '--', path, ...args] : args, {
    stdio: 'ignore',
  });
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the cluster; `{ url, close() }`. */
export async function startBenchCluster(prefix, settings = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const uid = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString()) : undefined;
  const gid = asRoot ? Number(execFileSync('id', ['-g', 'postgres']).toString()) : undefined;
  if (asRoot) chownSync(dir, uid, gid);
  const password = `bench-${process.pid}`;
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, `${password}\n`);
  if (asRoot) chownSync(pwFile, uid, gid);
  const data = join(dir, 'data');
  runPg('initdb', ['-D', data, '-U', 'poolsink', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '--no-sync']);
  const port = await freePort();
  const extra = Object.entries(settings)
    .map(([key, value]) => ` -c ${key}=${value}`)
    .join('');
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir}${extra}`;
  runPg('pg_ctl', ['start', '-w', '-t', '120', '-D', data, '-l', join(dir, 'log'), '-o', options]);
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'poolsink', password, database: 'postgres' });
  await admin.connect();
  await admin.query('CREATE DATABASE poolsink');
  await admin.end();
  return {
    url: `postgres://poolsink:${password}@127.0.0.1:${port}/poolsink`,
    close() {
      runPg('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', data]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
