/**
 * The matcher image (blocklist/matcher-image.ts) on its way to the workers: its four arrays go
 * through a file in the data directory, the rest (list summaries, allowlist, sizes) in the IPC
 * message. A worker reads the file in one read into one buffer and views the arrays in place.
 * Sent inside the IPC message instead, a 1M-name image (~40 MB) is read in 64 KiB chunks and
 * joined, and the chunks' memory stays with the worker (measured: ~60 MB RSS per worker).
 *
 * File layout: names (padded to 4 bytes), offsets, slots, table; the lengths are in the ref.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MatcherImage } from '../blocklist/matcher-image.js';

/** What the IPC message carries for one image: everything but the arrays, and where they are. */
export interface MatcherImageRef extends Omit<MatcherImage, 'names' | 'offsets' | 'slots' | 'table'> {
  readonly file: string;
  readonly generation: number;
  readonly namesBytes: number;
  readonly offsetsLength: number;
  readonly slotsLength: number;
  readonly tableLength: number;
}

const pad4 = (bytes: number): number => (bytes + 3) & ~3;

/** A fresh, private directory for the images (a previous run's files are removed). */
export function prepareImageDir(dataDir: string): string {
  const dir = join(dataDir, 'worker-lists');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function writeImageFile(dir: string, generation: number, image: MatcherImage): MatcherImageRef {
  const { names, offsets, slots, table, ...rest } = image;
  const file = join(dir, `${generation}.img`);
  const arrays = [offsets, slots, table].map(
    (array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
  );
  const padding = new Uint8Array(pad4(names.byteLength) - names.byteLength);
  writeFileSync(file, Buffer.concat([names, padding, ...arrays]), { mode: 0o600 });
  return {
    ...rest,
    file,
    generation,
    namesBytes: names.byteLength,
    offsetsLength: offsets.length,
    slotsLength: slots.length,
    tableLength: table.length,
  };
}

export function readImageFile(ref: MatcherImageRef): MatcherImage {
  const { file, generation, namesBytes, offsetsLength, slotsLength, tableLength, ...rest } = ref;
  let bytes: Uint8Array = readFileSync(file);
  // Uint32Array views need a 4-byte aligned start (a small file may come from Node's buffer pool).
  if (bytes.byteOffset % 4 !== 0) bytes = new Uint8Array(bytes);
  const { buffer, byteOffset } = bytes;
  let at = byteOffset;
  const names = new Uint8Array(buffer, at, namesBytes);
  at += pad4(namesBytes);
  const offsets = new Uint32Array(buffer, at, offsetsLength);
  at += offsetsLength * 4;
  const slots = new Uint32Array(buffer, at, slotsLength);
  at += slotsLength * 4;
  const table = new Uint32Array(buffer, at, tableLength);
  return { ...rest, names, offsets, slots, table };
}

/** Bytes of the image's arrays (what each worker holds for the lists). */
export function imageRefBytes(ref: MatcherImageRef): number {
  return pad4(ref.namesBytes) + (ref.offsetsLength + ref.slotsLength + ref.tableLength) * 4;
}
