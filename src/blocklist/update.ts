/**
 * One list update, before anything is swapped: get the bytes (download or file read), then decide
 * what they are worth. Unchanged bytes (same SHA-256) cost no parsing; bytes that are not text,
 * that parse to nothing, or that would shrink the list past its limit are rejected unless forced.
 * Nothing here touches the manager's state: the manager applies the verdict.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { relative, resolve, isAbsolute } from 'node:path';
import { PoolsinkError, errorMessage } from '../errors.js';
import { hashInSlices, parseInSlices, textProblem, type Slicer } from './build.js';
import type { ListFetcher, Validators } from './fetch.js';
import type { ListSource } from './list-source.js';
import type { ParsedList } from './parse.js';
import type { ListSpec } from './definition.js';

export type Retrieved =
  | { readonly kind: 'not-modified' }
  | {
      readonly kind: 'content';
      readonly body: Buffer;
      readonly validators: Validators;
      /** File sources: what the file looked like when read (see fileStamp). */
      readonly fileStamp?: string;
      readonly fileMtimeMs?: number;
    };

/** Identity and version of a file: changes when it is rewritten, replaced (rename) or resized. */
export async function fileStamp(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined; // missing or unreadable: reported when it is read
  }
}

/** How a list's source may be reached: sources from the configuration file are trusted as they are. */
export interface SourceAccess {
  readonly fetcher: ListFetcher;
  readonly maxBytes: number;
  /** From the configuration file: any file, any destination. Otherwise (the API): checked. */
  readonly trusted: boolean;
  /** Where untrusted file sources must be (lists.fileSourceDir); undefined: none are read. */
  readonly fileSourceDir: string | undefined;
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * The real path of an API-given file source, which must lie inside fileSourceDir both as written
 * (no `..` out of it) and once symlinks are resolved. Throws ERR_INVALID, or ERR_LIST_READ when the
 * file (inside the directory) cannot be resolved.
 */
export async function containedFilePath(path: string, fileSourceDir: string | undefined): Promise<string> {
  if (fileSourceDir === undefined)
    throw new PoolsinkError('ERR_INVALID', 'source: file sources from the API need lists.fileSourceDir');
  const outside = new PoolsinkError(
    'ERR_INVALID',
    'source: file sources from the API must be inside lists.fileSourceDir',
  );
  if (!inside(resolve(fileSourceDir), resolve(path))) throw outside;
  let real: string;
  let realDir: string;
  try {
    [real, realDir] = await Promise.all([realpath(path), realpath(fileSourceDir)]);
  } catch (err: unknown) {
    throw new PoolsinkError('ERR_LIST_READ', `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  if (!inside(realDir, real)) throw outside;
  return real;
}

/**
 * The list's current bytes: a download (conditional on `validators`) or a file read. Throws
 * ERR_LIST_FETCH, ERR_LIST_READ, or ERR_INVALID for an untrusted file source outside fileSourceDir.
 */
export async function retrieveList(
  source: ListSource,
  validators: Validators,
  access: SourceAccess,
): Promise<Retrieved> {
  const { fetcher, maxBytes, trusted } = access;
  if (source.kind === 'url') return fetcher.fetch(source.url, validators, { trustedSource: trusted });
  const path = trusted ? source.path : await containedFilePath(source.path, access.fileSourceDir);
  try {
    const before = await stat(path);
    if (!before.isFile()) throw new Error('not a regular file');
    if (before.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    const body = await readFile(path);
    return {
      kind: 'content',
      body,
      validators: {},
      fileStamp: `${before.dev}:${before.ino}:${before.size}:${before.mtimeMs}`,
      fileMtimeMs: before.mtimeMs,
    };
  } catch (err: unknown) {
    throw new PoolsinkError('ERR_LIST_READ', `cannot read ${source.path}: ${errorMessage(err)}`, { cause: err });
  }
}

/** What the list holds now, to compare an update against. */
export interface Baseline {
  readonly sha256?: string;
  /** Rules in the loaded copy; undefined when nothing is loaded (no shrink guard then). */
  readonly entries?: number;
  /** The last rejected update: the same bytes again are rejected without parsing. */
  readonly rejected?: { readonly sha256: string; readonly message: string };
}

export type Evaluation =
  | { readonly kind: 'unchanged'; readonly sha256: string }
  | { readonly kind: 'rejected'; readonly sha256: string; readonly message: string }
  | { readonly kind: 'accepted'; readonly sha256: string; readonly parsed: ParsedList; readonly entries: number };

/** The shrink guard's verdict: a message when `next` loses more than maxShrinkPercent of `previous`. */
export function shrinkProblem(previous: number, next: number, maxShrinkPercent: number): string | undefined {
  if (previous <= 0 || next >= previous) return undefined;
  const lost = previous - next;
  if (lost * 100 <= previous * maxShrinkPercent) return undefined;
  const percent = Math.round((lost * 1000) / previous) / 10;
  return `update would shrink the list from ${previous} to ${next} entries (-${percent}%), more than maxShrinkPercent ${maxShrinkPercent}; refresh with force to accept it`;
}

export async function evaluateList(
  body: Buffer,
  spec: ListSpec,
  baseline: Baseline,
  force: boolean,
  slicer: Slicer,
): Promise<Evaluation> {
  const sha256 = await hashInSlices(body, slicer);
  if (sha256 === baseline.sha256) return { kind: 'unchanged', sha256 };
  if (!force && baseline.rejected?.sha256 === sha256)
    return { kind: 'rejected', sha256, message: baseline.rejected.message };
  const notText = textProblem(body);
  if (notText !== undefined) return { kind: 'rejected', sha256, message: notText }; // not even force makes garbage a list
  const parsed = await parseInSlices(body, spec.format, slicer);
  const entries = parsed.domains.length + parsed.wildcards.length + parsed.addresses.length;
  if (!force) {
    if (entries === 0) {
      return {
        kind: 'rejected',
        sha256,
        message: `update parses to 0 entries (${parsed.skipped} lines skipped as ${parsed.format}); refresh with force to accept it`,
      };
    }
    const shrink =
      baseline.entries === undefined ? undefined : shrinkProblem(baseline.entries, entries, spec.maxShrinkPercent);
    if (shrink !== undefined) return { kind: 'rejected', sha256, message: shrink };
  }
  return { kind: 'accepted', sha256, parsed, entries };
}
