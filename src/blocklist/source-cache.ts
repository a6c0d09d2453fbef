/**
 * The last known good copy of each downloaded list, so poolsink blocks from its first query even
 * when it starts offline: `<dir>/<name>.txt` holds the parsed list, normalized (build.ts
 * normalizedCopy: one rule a line; never the body as served, which may hold whatever the source
 * returned), and
 * `<dir>/<name>.meta.json` where it came from and its HTTP validators. Each file is written to a
 * temp file, flushed and renamed over the old one, so a crash leaves the old copy or the new one,
 * never half of one. The text is written before the metadata: a crash between the two leaves
 * validators older than the text, which at worst costs one full download.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PoolsinkError, errorMessage } from '../errors.js';
import type { Validators } from './fetch.js';
import { LIST_NAME } from '../config/list-schema.js';

export interface CacheMeta {
  /** The source the copy was fetched from: validators are only sent back to that source. */
  readonly source: string;
  /** SHA-256 of the body as the source served it, hex: an identical download is "unchanged". */
  readonly sha256: string;
  /** SHA-256 of the normalized copy on disk; absent in copies written verbatim by older versions. */
  readonly copySha256?: string;
  readonly validators: Validators;
  /** When the copy was written, ms since epoch. */
  readonly savedMs: number;
}

export interface CachedList {
  readonly body: Buffer;
  /** Undefined when the metadata file is missing or unreadable: the text is still good. */
  readonly meta: CacheMeta | undefined;
}

export interface SourceCache {
  readonly dir: string;
  /** Undefined when no copy is kept. Throws ERR_LIST_READ when one exists but cannot be read. */
  read(name: string): Promise<CachedList | undefined>;
  /** Throws ERR_STORE_WRITE when the copy cannot be written (the catalog's code for local state that cannot be saved). */
  write(name: string, body: Buffer, meta: CacheMeta): Promise<void>;
  remove(name: string): Promise<void>;
  /** Deletes temp files a crash left behind. */
  removeTempFiles(): Promise<void>;
}

const TEMP_MARK = '.tmp-';
/** List names as the config accepts them: no path separators, no leading dot. */
const SAFE_NAME = LIST_NAME;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The metadata file's JSON, checked field by field (it is a file anyone could have edited). */
function readMeta(text: string): CacheMeta | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // a torn or edited file: the text is still usable without validators
  }
  if (!isObject(value)) return undefined;
  const { source, sha256, savedMs } = value;
  if (typeof source !== 'string' || typeof sha256 !== 'string' || typeof savedMs !== 'number') return undefined;
  const raw = isObject(value['validators']) ? value['validators'] : {};
  const copySha256 = optionalString(value['copySha256']);
  const etag = optionalString(raw['etag']);
  const lastModified = optionalString(raw['lastModified']);
  return {
    source,
    sha256,
    savedMs,
    ...(copySha256 !== undefined ? { copySha256 } : {}),
    validators: { ...(etag !== undefined ? { etag } : {}), ...(lastModified !== undefined ? { lastModified } : {}) },
  };
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Writes `data` to a temp file beside `path`, flushes it, and renames it over `path`. */
async function writeAtomically(dir: string, fileName: string, data: Buffer | string): Promise<void> {
  const temp = join(dir, `.${fileName}${TEMP_MARK}${randomUUID()}`);
  try {
    const handle = await open(temp, 'w', 0o600); // owner-only, like the database
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, fileName));
  } catch (err: unknown) {
    await rm(temp, { force: true });
    throw err;
  }
}

export function createSourceCache(options: { dir: string }): SourceCache {
  const { dir } = options;

  function files(name: string): { text: string; meta: string } {
    if (!SAFE_NAME.test(name))
      throw new PoolsinkError('ERR_INVALID', `list name ${JSON.stringify(name)} cannot name a file`);
    return { text: `${name}.txt`, meta: `${name}.meta.json` };
  }

  return {
    dir,
    async read(name) {
      const { text, meta } = files(name);
      let body: Buffer;
      try {
        body = await readFile(join(dir, text));
      } catch (err: unknown) {
        if (errnoCode(err) === 'ENOENT') return undefined;
        throw new PoolsinkError(
          'ERR_LIST_READ',
          `last known good copy of "${name}" cannot be read: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      let metaText: string | undefined;
      try {
        metaText = await readFile(join(dir, meta), 'utf8');
      } catch {
        metaText = undefined; // no metadata: the text is used without validators
      }
      return { body, meta: metaText === undefined ? undefined : readMeta(metaText) };
    },
    async write(name, body, meta) {
      const { text, meta: metaFile } = files(name);
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeAtomically(dir, text, body);
        await writeAtomically(dir, metaFile, `${JSON.stringify(meta)}\n`);
      } catch (err: unknown) {
        throw new PoolsinkError(
          'ERR_STORE_WRITE',
          `last known good copy of "${name}" cannot be written to ${dir}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
    },
    async remove(name) {
      const { text, meta } = files(name);
      await rm(join(dir, meta), { force: true });
      await rm(join(dir, text), { force: true });
    },
    async removeTempFiles() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return; // no directory yet: nothing left behind
      }
      await Promise.all(
        names.filter((n) => n.startsWith('.') && n.includes(TEMP_MARK)).map((n) => rm(join(dir, n), { force: true })),
      );
    },
  };
}
