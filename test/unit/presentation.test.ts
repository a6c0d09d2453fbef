import { describe, expect, test } from 'vitest';
import { presentName, terminalText } from '../../src/net/presentation.js';

describe('presentName: DNS presentation format, as dig shows names', () => {
  test.each<[string, string]>([
    ['pool.example', 'pool.example'],
    ['', ''],
    ['\u001b[2j.pool.example', '\\027[2j.pool.example'],
    ['a\rb\nc.pool.example', 'a\\013b\\010c.pool.example'],
    ['sp ace\u0000.example', 'sp\\032ace\\000.example'],
    ['\u007f\u0080\u00ff.example', '\\127\\128\\255.example'],
    ['q"u(o)t;e@s$\\.example', 'q\\"u\\(o\\)t\\;e\\@s\\$\\\\.example'],
    ['\u2028.example', '\\226\\128\\168.example'], // not latin1 (never from the wire): its UTF-8 bytes
  ])('%j → %s', (name, shown) => {
    expect(presentName(name)).toBe(shown);
  });
});

describe('terminalText: controls of free text escaped', () => {
  test.each<[string, string]>([
    ['web-7 (i-0abc, team=payments)', 'web-7 (i-0abc, team=payments)'],
    ['seen\u001b[31m', 'seen\\027[31m'],
    ['a\r\nb\tc', 'a\\013\\010b\\009c'],
    ['back\\slash', 'back\\092slash'],
    ['Zürich…', 'Zürich…'],
    ['\u0085\u202eevil', '\\194\\133\\226\\128\\174evil'],
  ])('%j → %s', (text, shown) => {
    expect(terminalText(text)).toBe(shown);
  });
});
