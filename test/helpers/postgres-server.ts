/**
 * A throwaway PostgreSQL cluster for integration tests: Debian's postgresql 15 binaries, a temp data
 * directory, scram-sha-256 password auth, TCP on a free 127.0.0.1 port (and the Unix socket in the
 * temp directory, nowhere else). Run as the `postgres` user when the tests run as root (PostgreSQL
 * refuses root). stop()/start()/restart() keep the data: outage tests use them.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freeDnsPort } from './free-port.js';

const run = promisify(execFile);

const BIN_DIR = process.env['POSTGRES_BIN_DIR'] ?? '/usr/lib/postgresql/15/bin';

export const POSTGRES_USER = 'poolsink';
export const POSTGRES_DATABASE = 'poolsink';

export interface PostgresServer {
  readonly port: number;
  /** With `tls: true`: the CA file the server certificate (for 127.0.0.1 and localhost) chains to. */
  readonly caFile?: string;
  readonly password: string;
  /** postgres://poolsink:<password>@127.0.0.1:<port>/poolsink (password override: a wrong one). */
  url(password?: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

export function postgresAvailable(): boolean {
  return existsSync(join(BIN_DIR, 'initdb')) && existsSync(join(BIN_DIR, 'pg_ctl'));
}

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
async function runAsPostgres(binary: string, args: readonly string[]): Promise<void> {
  const path = join(BIN_DIR, binary);
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, [...args]];
  await run(file, argv, { timeout: 60_000 });
}

/** A CA and a server certificate for 127.0.0.1/localhost signed by it, with openssl, into `dir`. */
async function makeCertificates(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caFile,
    '-days',
    '2',
    '-subj',
    '/CN=poolsink test CA',
  ]);
  await run('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csr,
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  chmodSync(keyFile, 0o600);
  return { caFile, certFile, keyFile };
}

export async function startPostgres(options: { tls?: boolean } = {}): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-pg-'));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const { uid, gid } = await postgresIds();
    chownSync(dir, uid, gid);
  }
  const dataDir = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwFile = join(dir, 'pwfile');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = await postgresIds();
    chownSync(pwFile, uid, gid);
  }
  await runAsPostgres('initdb', [
    '-D',
    dataDir,
    '-U',
    POSTGRES_USER,
    '--auth=scram-sha-256',
    `--pwfile=${pwFile}`,
    '--encoding=UTF8',
    '--no-sync',
  ]);
  rmSync(pwFile);
  const port = await freeDnsPort();
  let serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=100`;
  let caFile: string | undefined;
  if (options.tls === true) {
    const files = await makeCertificates(dir);
    if (process.getuid?.() === 0) {
      const { uid, gid } = await postgresIds();
      chownSync(files.keyFile, uid, gid);
      chownSync(files.certFile, uid, gid);
    }
    caFile = files.caFile;
    serverOptions += ` -c ssl=on -c ssl_cert_file=${files.certFile} -c ssl_key_file=${files.keyFile}`;
  }

  async function start(): Promise<void> {
    await runAsPostgres('pg_ctl', [
      'start',
      '-w',
      '-t',
      '60',
      '-D',
      dataDir,
      '-l',
      join(dir, 'log'),
      '-o',
      serverOptions,
    ]);
  }
  async function stop(): Promise<void> {
    await runAsPostgres('pg_ctl', ['stop', '-w', '-t', '60', '-m', 'fast', '-D', dataDir]);
  }
  await start();
  // The database the URLs name, created through the cluster's own `postgres` database.
  const admin = new pg.Client({ host: '127.0.0.1', port, user: POSTGRES_USER, password, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${POSTGRES_DATABASE}`);
  } finally {
    await admin.end();
  }
  return {
    port,
    password,
    ...(caFile !== undefined ? { caFile } : {}),
    url: (pw = password) =>
      `postgres://${POSTGRES_USER}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${POSTGRES_DATABASE}`,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop().catch(() => undefined); // already stopped by the test
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}
