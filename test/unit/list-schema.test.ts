/**
 * One rule per input, wherever the input arrives: the configuration file, the admin API body and
 * the list manager (lists saved in the database) accept and refuse the same list definitions, and
 * the defaults the writer runs with are the configuration's.
 */
import { describe, expect, test } from 'vitest';
import { parseListDefinition, parseListPatch } from '../../src/admin/bodies.js';
import { InvalidParameterError } from '../../src/admin/http-errors.js';
import { parseListName } from '../../src/admin/params.js';
import { specFromDefinition } from '../../src/blocklist/definition.js';
import { EVENT_BATCH_SIZE, MAX_BUFFERED_EVENTS } from '../../src/config/defaults.js';
import { validateConfig } from '../../src/config/load.js';
import { isPoolsinkError } from '../../src/errors.js';

const UPSTREAMS = { upstreams: ['127.0.0.1:5400'] };

/** The message of the error each entry point gives, or undefined when it accepts the list. */
function viaConfig(list: Record<string, unknown>): string | undefined {
  try {
    validateConfig({ ...UPSTREAMS, blocklists: [list] }, '/base');
    return undefined;
  } catch (err: unknown) {
    if (isPoolsinkError(err, 'ERR_CONFIG_INVALID')) return err.message;
    throw err;
  }
}

function viaApi(list: Record<string, unknown>): string | undefined {
  try {
    parseListDefinition(list);
    return undefined;
  } catch (err: unknown) {
    if (err instanceof InvalidParameterError) return err.message;
    throw err;
  }
}

function viaManager(list: Record<string, unknown>): string | undefined {
  try {
    specFromDefinition({ name: String(list['name']), source: String(list['source']) });
    return undefined;
  } catch (err: unknown) {
    if (isPoolsinkError(err, 'ERR_INVALID')) return err.message;
    throw err;
  }
}

describe('a list source', () => {
  test.each([
    ['a relative path', 'lists/pools.txt'],
    ['an absolute path', '/etc/poolsink/pools.txt'],
    ['an https URL', 'https://lists.example/pools.txt'],
    ['an upper-case HTTP URL', 'HTTP://lists.example/pools.txt'],
    ['a path with spaces', 'my lists/pools.txt'],
  ])('%s is accepted by the config, the API and the manager', (_label, source) => {
    const list = { name: 'x', source };
    expect([viaConfig(list), viaApi(list), viaManager(list)]).toEqual([undefined, undefined, undefined]);
  });

  test.each([
    ['empty', ''],
    ['blank', '   '],
    ['a newline', '/x\n/y'],
    ['a NUL', '/x\0y'],
    ['a tab', 'https://lists.example/\tpools.txt'],
    ['DEL', '/x\x7f'],
    ['an ftp URL', 'ftp://lists.example/pools.txt'],
    ['a file URL', 'file:///etc/passwd'],
    ['an http URL without a host', 'http://'],
    ['an https URL that does not parse', 'https://exa mple.com:99999/'],
    ['too long', `/${'x'.repeat(2048)}`],
  ])('%s is refused by the config, the API and the manager, each naming source', (_label, source) => {
    const list = { name: 'x', source };
    expect(viaConfig(list)).toMatch(/^config blocklists\[0\]\.source: /);
    expect(viaApi(list)).toMatch(/^body\.source: /);
    expect(viaManager(list)).toMatch(/^source: /);
    expect(() => parseListPatch({ source })).toThrow(/^body\.source: /);
  });
});

describe('a list name', () => {
  test.each(['a b', '../x', '.hidden', 'a/b', 'x'.repeat(65), ''])('%j is refused everywhere', (name) => {
    const list = { name, source: '/x' };
    expect(viaConfig(list)).toContain('blocklists[0].name');
    expect(viaApi(list)).toMatch(/^body\.name: /);
    expect(viaManager(list)).toMatch(/^name: /);
    expect(() => parseListName('name', name)).toThrow(InvalidParameterError);
  });
});

test('a list gets the same defaults from the config file and from the API', () => {
  const fromConfig = validateConfig({ ...UPSTREAMS, blocklists: [{ name: 'x', source: '/x' }] }, '/base').blocklists[0];
  expect(specFromDefinition(parseListDefinition({ name: 'x', source: '/x' }))).toEqual(fromConfig);
});

test('the block-log writer defaults are the ones main.ts runs with', () => {
  const config = validateConfig(UPSTREAMS, '/base');
  expect(config.database.maxBufferedEvents).toBe(400_000);
  expect(MAX_BUFFERED_EVENTS).toBe(400_000);
  expect(EVENT_BATCH_SIZE).toBe(500);
});

test('the loaded configuration is frozen all the way down', () => {
  const config = validateConfig({ ...UPSTREAMS, blocklists: [{ name: 'x', source: '/x' }] }, '/base');
  expect(Object.isFrozen(config.blocklists[0])).toBe(true);
  expect(Object.isFrozen(config.dns.listen[0])).toBe(true);
  expect(Object.isFrozen(config.dns.rateLimit)).toBe(true);
});
