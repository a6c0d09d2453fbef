/**
 * The reload plan: which changed keys apply live and which need a restart (one table, LIVE_KEYS),
 * with restart-only keys compared against the start so they stay reported until the restart.
 */
import { describe, expect, test } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { changedKeys, planReload } from '../../src/config/reload-plan.js';

const BASE = { upstreams: ['127.0.0.1:5300'], dns: { listen: ['127.0.0.1:5353'] } };

function config(extra: Record<string, unknown> = {}) {
  return validateConfig({ ...BASE, ...extra }, '/srv/poolsink', '/nonexistent');
}

describe('planReload', () => {
  test.each([
    [{}, [], []],
    [{ allowlist: ['ok.example'] }, ['allowlist'], []],
    [{ block: { response: 'refused' } }, ['block.response'], []],
    [{ block: { ttlSec: 5, sinkholeIpv4: '192.0.2.9' } }, ['block.sinkholeIpv4', 'block.ttlSec'], []],
    [{ dns: { listen: ['127.0.0.1:5353'], allowClients: ['10.0.0.0/8'] } }, ['dns.allowClients'], []],
    [{ upstreams: ['127.0.0.1:5301'], upstreamTimeoutMs: 900 }, ['upstreams', 'upstreamTimeoutMs'], []],
    [{ log: { level: 'debug' } }, ['log.level'], []],
    [{ dns: { listen: ['127.0.0.1:5353'], rateLimit: { qps: 5 } } }, ['dns.rateLimit.qps', 'dns.rateLimit.burst'], []],
    [{ admin: { token: 'a-token-of-sixteen-chars' } }, ['admin.token'], []],
    [{ dns: { listen: ['127.0.0.1:5354'] } }, [], ['dns.listen']],
    [{ admin: { listen: '127.0.0.1:9053' } }, [], ['admin.listen']],
    [{ database: { path: 'other.db' } }, [], ['database.path']],
    [{ dataDir: 'state' }, [], ['dataDir', 'database.path']],
    [{ cache: { maxEntries: 10 } }, [], ['cache.maxEntries']],
    [{ hosts: { inventory: [{ source: 'hosts.csv' }] } }, ['hosts.inventory'], []],
    [{ hosts: { reverseDns: true } }, [], ['hosts.reverseDns']],
    [{ notify: [{ name: 'ops', type: 'slack', url: 'https://hooks.example/x', events: ['test'] }] }, [], ['notify']],
  ])('%j → live %j, restart %j', (change, live, restart) => {
    const started = config();
    const plan = planReload(started, started, config(change));
    expect([...plan.live].sort()).toEqual([...live].sort());
    expect([...plan.restartNeeded].sort()).toEqual([...restart].sort());
  });

  test('a listener change stays "restart needed" on the next reload; a live change is reported once', () => {
    const started = config();
    const first = config({ dns: { listen: ['127.0.0.1:5354'] }, allowlist: ['ok.example'] });
    expect(planReload(started, started, first)).toEqual({ live: ['allowlist'], restartNeeded: ['dns.listen'] });
    expect(planReload(started, first, first)).toEqual({ live: [], restartNeeded: ['dns.listen'] });
  });

  test('rate limiting can be turned off live, but turned on only by a restart when it started off', () => {
    const on = config();
    const off = config({ dns: { listen: ['127.0.0.1:5353'], rateLimit: { qps: 0 } } });
    expect(planReload(on, on, off).live).toContain('dns.rateLimit.qps');
    const plan = planReload(off, off, on);
    expect(plan.live).toEqual([]);
    expect(plan.restartNeeded).toContain('dns.rateLimit.qps');
  });

  test('changedKeys compares arrays whole and CIDRs by value', () => {
    expect(changedKeys(config(), config())).toEqual([]);
    expect(changedKeys({ a: [1, 2] }, { a: [1, 3] })).toEqual(['a']);
  });
});
