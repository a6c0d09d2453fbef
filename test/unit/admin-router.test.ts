import { describe, expect, test } from 'vitest';
import { InvalidParameterError } from '../../src/admin/http-errors.js';
import { createRouter } from '../../src/admin/router.js';

const routes = [
  { method: 'GET', path: '/api/v1/lists' },
  { method: 'POST', path: '/api/v1/lists' },
  { method: 'PATCH', path: '/api/v1/lists/{name}' },
  { method: 'DELETE', path: '/api/v1/lists/{name}' },
  { method: 'POST', path: '/api/v1/lists/refresh' },
  { method: 'POST', path: '/api/v1/lists/{name}/refresh' },
  { method: 'GET', path: '/api/v1/hosts/{ip}' },
];
const router = createRouter(routes);

function describeMatch(method: string, path: string): string {
  const match = router.match(method, path);
  if (match.kind === 'match')
    return `${match.route.method} ${match.route.path} ${JSON.stringify(match.decodeParams())}`;
  if (match.kind === 'method-not-allowed') return `405 ${match.allow.join(',')}`;
  return '404';
}

describe('router', () => {
  test.each([
    ['GET', '/api/v1/lists', 'GET /api/v1/lists {}'],
    ['POST', '/api/v1/lists', 'POST /api/v1/lists {}'],
    ['PUT', '/api/v1/lists', '405 GET,POST'],
    ['POST', '/api/v1/lists/refresh', 'POST /api/v1/lists/refresh {}'],
    // A list may be named "refresh": the literal route does not hide the parameter route's other methods.
    ['PATCH', '/api/v1/lists/refresh', 'PATCH /api/v1/lists/{name} {"name":"refresh"}'],
    ['GET', '/api/v1/lists/refresh', '405 POST,PATCH,DELETE'],
    ['POST', '/api/v1/lists/pools/refresh', 'POST /api/v1/lists/{name}/refresh {"name":"pools"}'],
    ['GET', '/api/v1/hosts/2001%3Adb8%3A%3A1', 'GET /api/v1/hosts/{ip} {"ip":"2001:db8::1"}'],
    // An encoded slash stays inside its segment; the handler's validation refuses it.
    ['GET', '/api/v1/hosts/..%2F..%2Fetc%2Fpasswd', 'GET /api/v1/hosts/{ip} {"ip":"../../etc/passwd"}'],
    ['GET', '/api/v1/hosts/', '404'],
    ['GET', '/api/v1/hosts', '404'],
    ['GET', '/api/v1/hosts/a/b', '404'],
    ['GET', '/api/v1/lists/', '404'],
    ['GET', '/api/v1/lists//', '404'],
    ['GET', '/', '404'],
    ['GET', '', '404'],
  ])('%s %s → %s', (method, path, expected) => {
    expect(describeMatch(method, path)).toBe(expected);
  });

  test('a parameter that is not valid percent-encoding is a 400 naming it, once decoded', () => {
    for (const path of ['/api/v1/hosts/%E0%A4%A', '/api/v1/hosts/%zz']) {
      const match = router.match('GET', path);
      if (match.kind !== 'match') throw new Error(`${path} did not match`);
      expect(() => match.decodeParams()).toThrow(InvalidParameterError);
      try {
        match.decodeParams();
      } catch (err: unknown) {
        expect(err instanceof InvalidParameterError && err.param).toBe('ip');
      }
    }
  });

  test('duplicate routes are a programming error', () => {
    expect(() => createRouter([routes[0]!, routes[0]!])).toThrow(/duplicate route/);
  });
});
