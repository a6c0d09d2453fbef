import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { GENERATED_TOKEN_FILE, resolveAdminToken } from '../../src/admin/auth.js';
import { isPoolsinkError } from '../../src/errors.js';

let dir: string;
let lines: string[];
let log: Logger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-auth-'));
  lines = [];
  log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tokenErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err: unknown) {
    if (isPoolsinkError(err, 'ERR_ADMIN_TOKEN')) return err.message;
    throw err;
  }
  throw new Error('expected ERR_ADMIN_TOKEN');
}

describe('resolveAdminToken', () => {
  test('generates a token at first start into <dataDir>/admin-token, mode 0600, and reuses it', () => {
    const dataDir = join(dir, 'data');
    const first = resolveAdminToken({ dataDir, log });
    const file = join(dataDir, GENERATED_TOKEN_FILE);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    expect(readdirSync(dataDir)).toEqual([GENERATED_TOKEN_FILE]); // no temp file left behind
    const second = resolveAdminToken({ dataDir, log });
    expect(second).toBe(first);
    const logged = lines.join('');
    expect(logged).toContain(file);
    expect(logged).toContain('admin token generated');
    expect(logged).not.toContain(first);
  });

  test('an existing file is read, never rewritten or loosened', () => {
    const file = join(dir, GENERATED_TOKEN_FILE);
    writeFileSync(file, 'existing-token-0123456789\n', { mode: 0o400 });
    const before = statSync(file);
    expect(resolveAdminToken({ dataDir: dir, log })).toBe('existing-token-0123456789');
    const after = statSync(file);
    expect(after.mode).toBe(before.mode);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  test('a configured token wins; a token file is read and trimmed', () => {
    expect(resolveAdminToken({ token: 'configured-token-123456', dataDir: dir, log })).toBe('configured-token-123456');
    const file = join(dir, 'token.txt');
    writeFileSync(file, '  from-file-token-123456 \n', { mode: 0o600 });
    expect(resolveAdminToken({ tokenFile: file, dataDir: dir, log })).toBe('from-file-token-123456');
    expect(readdirSync(dir)).toEqual(['token.txt']); // nothing generated
  });

  test('a token file readable by others is used with a warning', () => {
    const file = join(dir, 'token.txt');
    writeFileSync(file, 'from-file-token-123456');
    chmodSync(file, 0o644);
    expect(resolveAdminToken({ tokenFile: file, dataDir: dir, log })).toBe('from-file-token-123456');
    expect(lines.join('')).toContain('readable by other users');
  });

  test.each<[string, (path: string) => void, RegExp]>([
    ['missing', () => {}, /could not be read/],
    ['empty', (p) => writeFileSync(p, '\n', { mode: 0o600 }), /at least 16/],
    ['too short', (p) => writeFileSync(p, 'short', { mode: 0o600 }), /at least 16/],
    ['two words', (p) => writeFileSync(p, 'token-part-one token-part-two', { mode: 0o600 }), /without spaces/],
    ['huge', (p) => writeFileSync(p, 'x'.repeat(10_000), { mode: 0o600 }), /larger than/],
  ])('a token file that is %s is refused with ERR_ADMIN_TOKEN', (_label, setup, message) => {
    const file = join(dir, 'token.txt');
    setup(file);
    expect(tokenErrorOf(() => resolveAdminToken({ tokenFile: file, dataDir: dir, log }))).toMatch(message);
  });

  test('a directory is not a token file', () => {
    expect(tokenErrorOf(() => resolveAdminToken({ tokenFile: dir, dataDir: dir, log }))).toMatch(/not a regular file/);
  });

  test('a symlink in place of the generated file is refused, not followed', () => {
    const target = join(dir, 'elsewhere');
    writeFileSync(target, 'attacker-chosen-token-123', { mode: 0o600 });
    symlinkSync(target, join(dir, GENERATED_TOKEN_FILE));
    expect(tokenErrorOf(() => resolveAdminToken({ dataDir: dir, log }))).toMatch(/not a regular file/);
  });

  test('an unwritable data directory is ERR_ADMIN_TOKEN, not a crash', () => {
    const blocker = join(dir, 'file-not-dir');
    writeFileSync(blocker, '');
    expect(tokenErrorOf(() => resolveAdminToken({ dataDir: join(blocker, 'data'), log }))).toMatch(
      /could not be (read|created)/,
    );
  });
});
