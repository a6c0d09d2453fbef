/**
 * Bounds-checked readers for DNS names in wire format (RFC 1035 §3.1, §4.1.4).
 * Every byte is hostile: lengths are checked against the buffer, names are capped at 255 bytes,
 * and compression pointers may only point backwards, so a pointer loop cannot exist.
 * Functions return -1 for malformed input instead of throwing: a bad packet is an expected value.
 */

export const MAX_NAME_WIRE_LEN = 255;
export const MAX_LABEL_LEN = 63;

const POINTER_MASK = 0xc0;

/**
 * Returns the offset just past the name that starts at `offset` (a pointer ends a name), or -1 if
 * the name is malformed or runs past `end`. Pointers are not followed: only the in-place bytes
 * are checked, which is all that is needed to walk over a record.
 */
export function skipName(buf: Uint8Array, offset: number, end: number): number {
  let pos = offset;
  let wireLen = 0;
  while (pos < end) {
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    const kind = len & POINTER_MASK;
    if (kind === POINTER_MASK) {
      if (pos + 2 > end) return -1;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      return target < pos ? pos + 2 : -1;
    }
    if (kind !== 0) return -1; // 0x40 / 0x80 label types are obsolete or undefined
    wireLen += len + 1;
    if (wireLen + 1 > MAX_NAME_WIRE_LEN) return -1;
    pos += len + 1;
  }
  return -1;
}

/**
 * Reads an uncompressed name (as in a query's question) into `scratch` as lower-case dotted text
 * without the trailing dot. Returns the offset past the name, or -1 if malformed or compressed.
 * `scratch` must hold at least 255 bytes; the text length is left in `result.textLen`.
 */
export function readQuestionName(
  buf: Uint8Array,
  offset: number,
  end: number,
  scratch: Uint8Array,
  result: { textLen: number },
): number {
  let pos = offset;
  let out = 0;
  while (pos < end) {
    const len = buf[pos]!;
    if (len === 0) {
      result.textLen = out === 0 ? 0 : out - 1;
      return pos + 1;
    }
    if ((len & POINTER_MASK) !== 0) return -1;
    const labelEnd = pos + 1 + len;
    if (labelEnd > end || out + len + 1 > MAX_NAME_WIRE_LEN - 1) return -1;
    for (let i = pos + 1; i < labelEnd; i++) {
      const c = buf[i]!;
      scratch[out++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    scratch[out++] = 0x2e;
    pos = labelEnd;
  }
  return -1;
}

/**
 * Decodes a possibly compressed name to lower-case dotted text (no trailing dot; '' is the root).
 * Pointers are followed only backwards, so decoding terminates. Returns undefined if malformed.
 * Used off the hot path (CNAME targets in upstream answers).
 */
export function decodeName(buf: Uint8Array, offset: number, end: number): string | undefined {
  let pos = offset;
  let wireLen = 0;
  let text = '';
  let limit = end;
  for (;;) {
    if (pos >= limit) return undefined;
    const len = buf[pos]!;
    if (len === 0) return text;
    const kind = len & POINTER_MASK;
    if (kind === POINTER_MASK) {
      if (pos + 2 > limit) return undefined;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos) return undefined;
      limit = pos;
      pos = target;
      continue;
    }
    if (kind !== 0) return undefined;
    wireLen += len + 1;
    if (wireLen + 1 > MAX_NAME_WIRE_LEN || pos + 1 + len > limit) return undefined;
    let label = '';
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = buf[i]!;
      label += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
    }
    text = text === '' ? label : `${text}.${label}`;
    pos += len + 1;
  }
}

/**
 * Compares two uncompressed wire names byte for byte, ignoring ASCII case. Both must already be
 * known to be well-formed and in bounds (for example, checked with skipName).
 */
export function wireNamesEqualIgnoreCase(
  a: Uint8Array,
  aOffset: number,
  b: Uint8Array,
  bOffset: number,
  length: number,
): boolean {
  for (let i = 0; i < length; i++) {
    let x = a[aOffset + i]!;
    let y = b[bOffset + i]!;
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}
