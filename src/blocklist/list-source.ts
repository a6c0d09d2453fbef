/**
 * Reads one configured list from a file and parses it, all at once (the `check` command and the
 * start-up snapshot). `listSourceOf` is the one place that decides whether a source is a file or a
 * URL; URL sources are fetched, cached and refreshed by the list manager (list-manager.ts).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PoolsinkError, errorMessage } from '../errors.js';
import { parseList, type ListFormat, type ListFormatOption, type ParsedList } from './parse.js';

export interface ListSourceConfig {
  name: string;
  /** A file path (relative paths resolve against the loader's baseDir) or, later, an http(s) URL. */
  source: string;
  format: ListFormatOption;
  mode?: 'block' | 'alert';
}

export interface LoadedList {
  name: string;
  source: string;
  /** The format parsed with: the configured one, or the detected one for `auto`. */
  format: ListFormat;
  mode: 'block' | 'alert';
  /** Rules parsed (domains plus wildcards), before duplicates are merged. */
  entries: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  domains: string[];
  wildcards: string[];
}

export type ListSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string };

/** `http://` and `https://` sources are URLs; anything else is a file path, resolved against baseDir. */
export function listSourceOf(source: string, baseDir: string): ListSource {
  if (/^https?:\/\//i.test(source)) return { kind: 'url', url: source };
  return { kind: 'file', path: resolve(baseDir, source) };
}

async function readSource(cfg: ListSourceConfig, source: ListSource): Promise<string> {
  switch (source.kind) {
    case 'file':
      try {
        return await readFile(source.path, 'utf8');
      } catch (err: unknown) {
        throw new PoolsinkError(
          'ERR_LIST_READ',
          `blocklist "${cfg.name}": cannot read ${source.path}: ${errorMessage(err)}`,
          { cause: err },
        );
      }
    case 'url':
      throw new PoolsinkError(
        'ERR_LIST_READ',
        `blocklist "${cfg.name}": cannot read ${source.url}: URL sources are not supported yet`,
      );
  }
}

/**
 * Reads and parses one list. Throws ERR_LIST_READ (naming the list and the path) when the source
 * cannot be read; lines that are not rules are counted in `skipped`, never thrown.
 */
export async function loadListFile(cfg: ListSourceConfig, baseDir: string): Promise<LoadedList> {
  const text = await readSource(cfg, listSourceOf(cfg.source, baseDir));
  return loadedList(cfg, parseList(text, cfg.format));
}

/** A parsed list with the configuration it was loaded for. */
export function loadedList(cfg: ListSourceConfig, parsed: ParsedList): LoadedList {
  return {
    name: cfg.name,
    source: cfg.source,
    format: parsed.format,
    mode: cfg.mode ?? 'block',
    entries: parsed.domains.length + parsed.wildcards.length,
    skipped: parsed.skipped,
    skippedByReason: parsed.skippedByReason,
    domains: parsed.domains,
    wildcards: parsed.wildcards,
  };
}
