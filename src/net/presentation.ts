/**
 * Text for people (CLI tables, CSV exports): the one place that decides how hostile bytes look.
 * A query name may hold any byte (the wire reader keeps it as latin1, one char per byte), so an
 * ESC, CR or LF in it would move a terminal's cursor or forge rows. `presentName` shows a name in
 * DNS presentation format as dig does; `terminalText` escapes the control characters of free text
 * (list names, notes, identity labels, error messages) the same way.
 */

/** `\DDD`: a byte as three decimal digits (RFC 1035 §5.1). */
function decimalEscape(byte: number): string {
  return `\\${String(byte).padStart(3, '0')}`;
}

/** A character's UTF-8 bytes as \DDD escapes. */
function escapeUtf8(char: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += decimalEscape(byte);
  return out;
}

/** Characters dig escapes with a backslash in a name's presentation format. */
const NAME_SPECIALS = '\\"();@$';

/**
 * A query name (latin1 text from the wire, labels joined by dots) in DNS presentation format:
 * printable ASCII as is, the specials `\ " ( ) ; @ $` behind a backslash, space, controls and
 * bytes >= 0x7f as \DDD. A dot inside a label cannot be told from a separator once the name is
 * text, so dots stay as they are.
 */
export function presentName(name: string): string {
  let plain = true;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || NAME_SPECIALS.includes(name[i] ?? '')) {
      plain = false;
      break;
    }
  }
  if (plain) return name;
  let out = '';
  for (const char of name) {
    const c = char.codePointAt(0) ?? 0;
    if (c <= 0x20 || c >= 0x7f) out += c <= 0xff ? decimalEscape(c) : escapeUtf8(char);
    else if (NAME_SPECIALS.includes(char)) out += `\\${char}`;
    else out += char;
  }
  return out;
}

// C0, DEL and C1 controls, backslash (so an escape in the output is always ours), bidi overrides
// and isolates, line and paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const UNSAFE_TEXT = /[\u0000-\u001f\u005c\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Free text that reaches a terminal or a CSV cell: controls, backslash and bidi overrides as \DDD
 * (the bytes of their UTF-8), everything else as is.
 */
export function terminalText(text: string): string {
  return text.replace(UNSAFE_TEXT, escapeUtf8);
}
