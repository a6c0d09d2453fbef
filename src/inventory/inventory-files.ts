/**
 * The configured inventory files, loaded at start and reloaded when they change (polled by their
 * stat stamp, as file lists are: blocklist/update.ts's fileStamp). A file that cannot be read or
 * parsed keeps its last good entries and reports the error in its status and the log; nothing here
 * throws, at start either. Files merge in configuration order: an address named by an earlier file
 * keeps that file's identity.
 */
import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import { fileStamp } from '../blocklist/update.js';
import type { InventoryFileConfig } from '../config/types.js';
import { PoolsinkError, errorMessage } from '../errors.js';
import type { HostIdentity } from './host-identity.js';
import type { ConcreteInventoryFormat, InventoryEntry, InventoryFormat } from './inventory-entry.js';
import { MAX_INVENTORY_BYTES, parseInventory } from './parse.js';

export interface InventoryFileStatus {
  readonly source: string;
  readonly format: InventoryFormat;
  /** The format the last good load was read as (auto resolved). */
  readonly detectedFormat?: ConcreteInventoryFormat;
  /** Addresses from the last good load (kept while the file is bad). */
  readonly entries: number;
  readonly skipped: number;
  readonly lastLoadMs?: number;
  readonly lastErrorMs?: number;
  /** Cleared by the next good load. */
  readonly lastError?: string;
  readonly healthy: boolean;
}

export interface InventoryFilesOptions {
  readonly files: readonly InventoryFileConfig[];
  readonly log: Logger;
  /** How often the files' stamps are checked. Default 5000. */
  readonly pollIntervalMs?: number;
  /** Largest file read. Default MAX_INVENTORY_BYTES. */
  readonly maxBytes?: number;
  readonly clock?: () => number;
  /** Called with the merged address → identity map after any file's entries changed. */
  readonly onChange?: (identities: ReadonlyMap<string, HostIdentity>) => void;
}

export interface InventoryFiles {
  /** Loads every file once and starts polling; resolves when the first load is done, never rejects. */
  start(): Promise<void>;
  stop(): void;
  /** Checks every file now (tests, and the poll timer). */
  check(): Promise<void>;
  status(): InventoryFileStatus[];
  /** The merged map, address → identity. */
  identities(): ReadonlyMap<string, HostIdentity>;
}

interface FileState {
  readonly config: InventoryFileConfig;
  stamp: string | undefined;
  entries: readonly InventoryEntry[];
  status: InventoryFileStatus;
}

async function readBounded(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes (${info.size})`);
    const buffer = Buffer.alloc(Math.min(info.size + 1, maxBytes + 1));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

export function createInventoryFiles(options: InventoryFilesOptions): InventoryFiles {
  const { log } = options;
  const clock = options.clock ?? Date.now;
  const pollIntervalMs = options.pollIntervalMs ?? 5000;
  const maxBytes = options.maxBytes ?? MAX_INVENTORY_BYTES;
  const states: FileState[] = options.files.map((config) => ({
    config,
    stamp: undefined,
    entries: [],
    status: { source: config.source, format: config.format, entries: 0, skipped: 0, healthy: false },
  }));
  let merged: ReadonlyMap<string, HostIdentity> = new Map();
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;

  function remerge(): void {
    const map = new Map<string, HostIdentity>();
    for (const state of states)
      for (const entry of state.entries) if (!map.has(entry.ip)) map.set(entry.ip, entry.identity);
    merged = map;
    options.onChange?.(merged);
  }

  /** Loads one file if its stamp changed (or it never loaded); true when its entries changed. */
  async function load(state: FileState): Promise<boolean> {
    const { source, format } = state.config;
    const stamp = await fileStamp(source);
    if (stamp !== undefined && stamp === state.stamp) return false;
    try {
      if (stamp === undefined)
        throw new PoolsinkError('ERR_INVENTORY_INVALID', `inventory ${source}: cannot read the file`);
      let text: string;
      try {
        text = await readBounded(source, maxBytes);
      } catch (err: unknown) {
        throw new PoolsinkError('ERR_INVENTORY_INVALID', `inventory ${source}: cannot read: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      const parsed = parseInventory(text, format, source);
      state.stamp = stamp;
      state.entries = parsed.entries;
      state.status = {
        source,
        format,
        detectedFormat: parsed.format,
        entries: parsed.entries.length,
        skipped: parsed.skipped,
        lastLoadMs: clock(),
        healthy: true,
      };
      log.info(
        { source, format: parsed.format, entries: parsed.entries.length, skipped: parsed.skipped },
        'inventory loaded',
      );
      return true;
    } catch (err: unknown) {
      // Keep-last-good: the entries stay; the stamp too, so an unchanged bad file is not re-read,
      // yet any change (or the file coming back) is.
      state.stamp = stamp;
      const message = errorMessage(err);
      const { lastError: _previous, lastErrorMs: _at, ...rest } = state.status;
      state.status = { ...rest, lastError: message, lastErrorMs: clock(), healthy: false };
      log.warn(
        { source, err: message, keptEntries: state.entries.length },
        'inventory file not loaded; keeping the last good one',
      );
      return false;
    }
  }

  async function checkAll(): Promise<void> {
    let changed = false;
    for (const state of states) if (await load(state)) changed = true;
    if (changed) remerge();
  }

  function check(): Promise<void> {
    checking ??= checkAll().finally(() => {
      checking = undefined;
    });
    return checking;
  }

  return {
    async start() {
      await check();
      if (states.length > 0 && timer === undefined) {
        timer = setInterval(() => void check(), pollIntervalMs);
        timer.unref();
      }
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    check,
    status: () => states.map((state) => state.status),
    identities: () => merged,
  };
}
