/**
 * ASCII character classes for the scanners that walk text with charCodeAt (domain names, IP
 * literals, list formats): no regex, no substring per character. Each scanner declares the
 * character codes it compares against itself: an imported constant is a load per use in those
 * loops, not a folded literal.
 */
const TAB = 9;
const VT = 11;
const FF = 12;
const CR = 13;
const SPACE = 32;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const UPPER_A = 65;
const UPPER_F = 70;
const LOWER_A = 97;
const LOWER_F = 102;

/** Space, tab, CR, vertical tab or form feed (a newline ends a line before this is asked). */
export function isSpace(code: number): boolean {
  return code === SPACE || code === TAB || code === CR || code === VT || code === FF;
}

export function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

export function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= LOWER_A && code <= LOWER_F) || (code >= UPPER_A && code <= UPPER_F);
}
