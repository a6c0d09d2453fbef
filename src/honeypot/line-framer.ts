/**
 * Newline-delimited framing for the honeypot, pure: bytes in, whole lines out (UTF-8, "\r\n" or
 * "\n"), and `tooLong` as soon as a line grows past maxLineBytes, terminator or not. The partial
 * line held is never longer than maxLineBytes.
 */

export interface FramedLines {
  readonly lines: readonly string[];
  /** A line longer than maxLineBytes: the connection is cut. */
  readonly tooLong: boolean;
}

export interface LineFramer {
  push(chunk: Buffer): FramedLines;
}

const NEWLINE = 0x0a;

function lineText(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}

export function createLineFramer(maxLineBytes: number): LineFramer {
  let partial: Buffer = Buffer.alloc(0);
  return {
    push(chunk: Buffer): FramedLines {
      const lines: string[] = [];
      let data = partial.length === 0 ? chunk : Buffer.concat([partial, chunk]);
      for (;;) {
        const end = data.indexOf(NEWLINE);
        if (end < 0) break;
        if (end > maxLineBytes) return { lines, tooLong: true };
        lines.push(lineText(data.subarray(0, end)));
        data = data.subarray(end + 1);
      }
      if (data.length > maxLineBytes) return { lines, tooLong: true };
      partial = Buffer.from(data);
      return { lines, tooLong: false };
    },
  };
}
