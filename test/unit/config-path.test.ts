import { describe, expect, test } from 'vitest';
import { SYSTEM_CONFIG, findConfigFile } from '../../src/config/config-path.js';

const existing =
  (...paths: string[]) =>
  (path: string) =>
    paths.includes(path);

describe('findConfigFile: --config, then POOLSINK_CONFIG, then ./poolsink.yaml, then /etc/poolsink', () => {
  test.each([
    ['--config wins over everything', 'a.yaml', { POOLSINK_CONFIG: '/b.yaml' }, ['/w/poolsink.yaml'], '/w/a.yaml'],
    ['--config is used even when absent', '/none.yaml', {}, [], '/none.yaml'],
    ['POOLSINK_CONFIG next, relative to the cwd', undefined, { POOLSINK_CONFIG: 'c/p.yaml' }, [], '/w/c/p.yaml'],
    [
      'an empty POOLSINK_CONFIG counts as unset',
      undefined,
      { POOLSINK_CONFIG: '' },
      ['/w/poolsink.yaml'],
      '/w/poolsink.yaml',
    ],
    ['./poolsink.yaml before /etc', undefined, {}, ['/w/poolsink.yaml', SYSTEM_CONFIG], '/w/poolsink.yaml'],
    ['/etc/poolsink/poolsink.yaml last', undefined, {}, [SYSTEM_CONFIG], SYSTEM_CONFIG],
  ])('%s', (_, flag, env, files, expected) => {
    expect(findConfigFile({ flag, env, cwd: '/w', exists: existing(...files) })).toBe(expected);
  });

  test('none found: the error lists every place looked at', () => {
    expect(() => findConfigFile({ env: {}, cwd: '/w', exists: existing() })).toThrow(
      'no configuration file found; looked at: --config (not given), POOLSINK_CONFIG (not set), /w/poolsink.yaml, /etc/poolsink/poolsink.yaml',
    );
  });
});
