/**
 * ASCII code points and character classes for the scanners that walk text with charCodeAt
 * (domain names, IP literals, list formats): no regex, no substring per character.
 */
export const TAB = 9;
export const VT = 11;
export const FF = 12;
export const CR = 13;
export const SPACE = 32;
export const BANG = 33; // !
export const HASH = 35; // #
export const DOLLAR = 36; // $
export const PERCENT = 37; // %
export const STAR = 42; // *
export const COMMA = 44; // ,
export const HYPHEN = 45; // -
export const DOT = 46; // .
export const SLASH = 47; // /
export const DIGIT_0 = 48;
export const DIGIT_9 = 57;
export const COLON = 58; // :
export const QUESTION = 63; // ?
export const AT = 64; // @
export const UPPER_A = 65;
export const UPPER_F = 70;
export const UPPER_Z = 90;
export const BRACKET_OPEN = 91; // [
export const BRACKET_CLOSE = 93; // ]
export const CARET = 94; // ^
export const UNDERSCORE = 95; // _
export const LOWER_A = 97;
export const LOWER_F = 102;
export const LOWER_L = 108;
export const LOWER_Z = 122;
export const PIPE = 124; // |
export const BOM = 0xfeff;

/** Space, tab, CR, vertical tab or form feed (a newline ends a line before this is asked). */
export function isSpace(code: number): boolean {
  return code === SPACE || code === TAB || code === CR || code === VT || code === FF;
}

export function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

export function isHexDigit(code: number): boolean {
  return (
    isDigit(code) || (code >= LOWER_A && code <= LOWER_F) || (code >= UPPER_A && code <= UPPER_F)
  );
}
