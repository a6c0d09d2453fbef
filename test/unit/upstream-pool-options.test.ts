import { describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { isPoolsinkError } from '../../src/errors.js';
import { createUpstreamPool } from '../../src/upstream/pool.js';

describe('createUpstreamPool options', () => {
  const log = pino({ level: 'silent' });
  test.each([
    ['no upstreams', { upstreams: [], timeoutMs: 100 }, 'upstreams'],
    ['a host name', { upstreams: [{ host: 'dns.example', port: 53 }], timeoutMs: 100 }, 'upstreams[0].host'],
    ['port 0', { upstreams: [{ host: '127.0.0.1', port: 0 }], timeoutMs: 100 }, 'upstreams[0].port'],
    ['timeout 0', { upstreams: [{ host: '127.0.0.1', port: 53 }], timeoutMs: 0 }, 'timeoutMs'],
    ['socketCount 0', { upstreams: [{ host: '127.0.0.1', port: 53 }], timeoutMs: 100, socketCount: 0 }, 'socketCount'],
    [
      'socketMaxUses 1.5',
      { upstreams: [{ host: '127.0.0.1', port: 53 }], timeoutMs: 100, socketMaxUses: 1.5 },
      'socketMaxUses',
    ],
  ])('rejects %s, naming the option', (_label, options, name) => {
    let caught: unknown;
    try {
      createUpstreamPool({ ...options, log });
    } catch (err: unknown) {
      caught = err;
    }
    expect(isPoolsinkError(caught, 'ERR_CONFIG_INVALID')).toBe(true);
    expect(String(caught)).toContain(name);
  });
});
