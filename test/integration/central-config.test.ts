/** `instance:` and `central.postgres` in the configuration: defaults, files read at load, errors naming the key. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { instanceNameOf } from '../../src/config/central-config.js';
import { validateConfig } from '../../src/config/load.js';
import { isPoolsinkError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'poolsink-central-config-'));
const resolvConf = join(dir, 'resolv.conf');
writeFileSync(resolvConf, 'nameserver 127.0.0.53\n');
writeFileSync(join(dir, 'pg-password'), 's3cret\n');
writeFileSync(join(dir, 'pg-url'), 'postgres://poolsink@db.internal:5432/poolsink?sslmode=verify-full\n');
writeFileSync(join(dir, 'empty'), '\n');
writeFileSync(join(dir, 'not-a-ca.pem'), 'hello\n');
writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(raw: unknown): string {
  try {
    validateConfig(raw, dir, resolvConf);
  } catch (err: unknown) {
    if (isPoolsinkError(err, 'ERR_CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected a config error');
}

describe('central configuration', () => {
  test('absent: the instance stands alone, named after the host', () => {
    const config = validateConfig({}, dir, resolvConf);
    expect(config.central).toEqual({});
    expect(config.instance.name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
  });

  test('files are read at load, defaults filled', () => {
    const config = validateConfig(
      {
        instance: { name: 'use1-az1' },
        central: {
          postgres: { urlFile: 'pg-url', passwordFile: 'pg-password', ssl: { caFile: 'ca.pem' }, pool: { max: 8 } },
        },
      },
      dir,
      resolvConf,
    );
    expect(config.instance.name).toBe('use1-az1');
    expect(config.central.postgres).toMatchObject({
      connectionString: 'postgres://poolsink@db.internal:5432/poolsink?sslmode=verify-full',
      password: 's3cret',
      ssl: { rejectUnauthorized: true, ca: expect.stringContaining('BEGIN CERTIFICATE') },
      poolMax: 8,
      idleTimeoutMs: 30_000,
      shipIntervalMs: 1_000,
      batchSize: 2_000,
      retentionDays: 90,
      readTimeoutMs: 5_000,
    });
  });

  test('readTimeoutMs bounds the fleet reads of the admin API', () => {
    const config = validateConfig(
      { central: { postgres: { url: 'postgres://h/db', readTimeoutMs: 300 } } },
      dir,
      resolvConf,
    );
    expect(config.central.postgres?.readTimeoutMs).toBe(300);
  });

  test.each([
    [{ central: { postgres: {} } }, 'central.postgres.url: set exactly one'],
    [{ central: { postgres: { url: 'postgres://h/db', urlFile: 'pg-url' } } }, 'set exactly one'],
    [{ central: { postgres: { url: 'mysql://h/db' } } }, 'central.postgres.url: must be postgres://'],
    [{ central: { postgres: { url: 'not a url' } } }, 'central.postgres.url: is not a URL'],
    [{ central: { postgres: { urlFile: 'missing' } } }, 'central.postgres.urlFile: cannot read'],
    [{ central: { postgres: { url: 'postgres://h/db', passwordFile: 'empty' } } }, 'passwordFile: the file is empty'],
    [
      { central: { postgres: { url: 'postgres://h/db', ssl: { caFile: 'not-a-ca.pem' } } } },
      'ssl.caFile: holds no PEM',
    ],
    [{ central: { postgres: { url: 'postgres://h/db', pool: { max: 0 } } } }, 'central.postgres.pool.max'],
    [{ central: { postgres: { url: 'postgres://h/db', batchSize: 0 } } }, 'central.postgres.batchSize'],
    [{ central: { postgres: { url: 'postgres://h/db', retentionDays: -1 } } }, 'central.postgres.retentionDays'],
    [{ central: { postgres: { url: 'postgres://h/db', retentionDays: 1.5 } } }, 'central.postgres.retentionDays'],
    [{ central: { postgres: { url: 'postgres://h/db', retentionDays: '30' } } }, 'central.postgres.retentionDays'],
    [{ central: { postgres: { url: 'postgres://h/db', readTimeoutMs: 0 } } }, 'central.postgres.readTimeoutMs'],
    [{ central: { postgres: { url: 'postgres://h/db', readTimeoutMs: 99 } } }, 'central.postgres.readTimeoutMs'],
    [{ central: { postgres: { url: 'postgres://h/db', readTimeoutMs: 250.5 } } }, 'central.postgres.readTimeoutMs'],
    [{ central: { postgres: { url: 'postgres://h/db', readTimeoutMs: '5s' } } }, 'central.postgres.readTimeoutMs'],
    [{ central: { postgres: { url: 'postgres://h/db', typo: 1 } } }, 'unknown key'],
    [{ instance: { name: '-bad name' } }, 'instance.name'],
  ])('%j is refused: %s', (raw, fragment) => {
    expect(errorOf(raw)).toContain(fragment);
  });

  test.each([
    ['ip-10-0-1-5.ec2.internal', 'ip-10-0-1-5.ec2.internal'],
    ['-weird host', 'weird-host'],
    ['', 'poolsink'],
  ])('host name %j becomes instance name %j', (host, name) => {
    expect(instanceNameOf({}, () => host)).toBe(name);
  });
});
