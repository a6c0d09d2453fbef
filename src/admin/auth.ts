/**
 * The admin token: where it comes from (configuration, a token file, or generated once into the
 * data directory) and how a request's bearer token is compared with it (constant time). The API
 * never runs open: without a configured token one is generated at first start.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { PoolsinkError, errorMessage } from '../errors.js';

export const GENERATED_TOKEN_FILE = 'admin-token';

/** Configured tokens are checked by the config loader; a file's token gets the same floor. */
const MIN_TOKEN_LENGTH = 16;
/** A token file larger than this is not a token file. */
const MAX_TOKEN_FILE_BYTES = 4096;
/** An Authorization header longer than this is refused without hashing it. */
const MAX_AUTHORIZATION_LENGTH = 4096;

export interface AdminTokenOptions {
  /** `admin.token` from the configuration. */
  readonly token?: string;
  /** `admin.tokenFile`: a file holding the token (surrounding whitespace ignored). */
  readonly tokenFile?: string;
  /** Where the generated token lives (`<dataDir>/admin-token`) when neither is configured. */
  readonly dataDir: string;
  readonly log: Logger;
}

function tokenError(message: string, cause?: unknown): PoolsinkError {
  return new PoolsinkError('ERR_ADMIN_TOKEN', message, cause === undefined ? undefined : { cause });
}

function hasErrnoCode(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}

/** Reads a token file: a regular file, not a symlink, holding one token of printable characters. */
function readTokenFile(path: string, log: Logger): string {
  let text: string;
  try {
    const stat = lstatSync(path);
    if (!stat.isFile()) throw tokenError(`admin token file ${path} is not a regular file`);
    if (stat.size > MAX_TOKEN_FILE_BYTES)
      throw tokenError(`admin token file ${path} is larger than ${MAX_TOKEN_FILE_BYTES} bytes`);
    if ((stat.mode & 0o077) !== 0) {
      log.warn(
        { tokenFile: path, mode: (stat.mode & 0o777).toString(8) },
        'admin token file is readable by other users; chmod 600 it',
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    if (err instanceof PoolsinkError) throw err;
    throw tokenError(`admin token file ${path} could not be read: ${errorMessage(err)}`, err);
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH || /[^\x21-\x7e]/.test(token)) {
    throw tokenError(
      `admin token file ${path} must hold one token of at least ${MIN_TOKEN_LENGTH} printable characters without spaces`,
    );
  }
  return token;
}

/**
 * Creates `<dataDir>/admin-token` (mode 0600) holding a new random token, unless it already exists.
 * The token is written to a temporary file first and then linked into place, so the file is never
 * seen half-written and a file created meanwhile (another process) is never replaced.
 */
function createTokenFile(path: string, dataDir: string, log: Logger): 'created' | 'exists' {
  const token = randomBytes(32).toString('base64url');
  const temp = join(dataDir, `.${GENERATED_TOKEN_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, `${token}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, path);
    } catch (err: unknown) {
      if (hasErrnoCode(err, 'EEXIST')) return 'exists';
      // Filesystems without hard links: rename, which is atomic but replaces a file created since.
      if (!hasErrnoCode(err, 'EPERM') && !hasErrnoCode(err, 'ENOTSUP') && !hasErrnoCode(err, 'EOPNOTSUPP')) throw err;
      renameSync(temp, path);
    }
    return 'created';
  } catch (err: unknown) {
    throw tokenError(`admin token file ${path} could not be created: ${errorMessage(err)}`, err);
  } finally {
    try {
      unlinkSync(temp);
    } catch (err: unknown) {
      // ENOENT: renamed into place, or never created. Otherwise a stray 0600 file is left behind.
      if (!hasErrnoCode(err, 'ENOENT'))
        log.warn({ file: temp, err: errorMessage(err) }, 'temporary admin token file not removed');
    }
  }
}

/**
 * The token the admin API requires: `token`, else the content of `tokenFile`, else the one in
 * `<dataDir>/admin-token`, generated at first start. Logs where a file token lives, never the token.
 * Throws ERR_ADMIN_TOKEN when no usable token can be had.
 */
export function resolveAdminToken(options: AdminTokenOptions): string {
  const { log } = options;
  if (options.token !== undefined) {
    if (options.token.length < MIN_TOKEN_LENGTH)
      throw tokenError(`admin.token must be at least ${MIN_TOKEN_LENGTH} characters`);
    return options.token;
  }
  if (options.tokenFile !== undefined) {
    const token = readTokenFile(options.tokenFile, log);
    log.info({ tokenFile: options.tokenFile }, 'admin token read from file');
    return token;
  }
  const path = join(options.dataDir, GENERATED_TOKEN_FILE);
  let existing = true;
  try {
    lstatSync(path);
  } catch (err: unknown) {
    if (!hasErrnoCode(err, 'ENOENT'))
      throw tokenError(`admin token file ${path} could not be read: ${errorMessage(err)}`, err);
    existing = createTokenFile(path, options.dataDir, log) === 'exists';
  }
  const token = readTokenFile(path, log);
  if (existing) log.info({ tokenFile: path }, 'admin token read from file');
  else log.info({ tokenFile: path }, 'admin token generated; send it as "Authorization: Bearer <token>"');
  return token;
}

/** A rotation's outcome: the new token and the file that now holds it. */
export interface RotatedToken {
  readonly token: string;
  readonly tokenFile: string;
}

/** Where the admin token comes from: the configuration itself, or a file poolsink may rewrite. */
export type AdminTokenSource = { readonly kind: 'inline' } | { readonly kind: 'file'; readonly path: string };

export function adminTokenSource(
  options: Pick<AdminTokenOptions, 'token' | 'tokenFile' | 'dataDir'>,
): AdminTokenSource {
  if (options.token !== undefined) return { kind: 'inline' };
  return { kind: 'file', path: options.tokenFile ?? join(options.dataDir, GENERATED_TOKEN_FILE) };
}

/**
 * Token rotation: writes a new random token to `path` (mode 0600) and returns it. The token goes
 * to a temporary file beside it first, then is renamed over it, so a reader sees the old token or
 * the new one, never half of one. Throws ERR_ADMIN_TOKEN.
 */
export function writeNewTokenFile(path: string): string {
  const token = randomBytes(32).toString('base64url');
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, `${token}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err: unknown) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created, or already renamed: nothing to remove.
    }
    throw tokenError(`admin token file ${path} could not be rewritten: ${errorMessage(err)}`, err);
  }
  return token;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * A checker for `Authorization: Bearer <token>` headers. Both sides are hashed first, so the
 * comparison takes the same time whatever the length or content of the candidate.
 */
export function createBearerCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = sha256(token);
  return (authorization) => {
    if (authorization === undefined || authorization.length > MAX_AUTHORIZATION_LENGTH) return false;
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    const candidate = match?.[1];
    if (candidate === undefined) return false;
    return timingSafeEqual(sha256(candidate), expected);
  };
}
