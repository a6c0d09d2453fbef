/**
 * The poolsink configuration every DNS bench starts from (`npm run bench` and side-by-side.mjs),
 * so the numbers of both come from the same server: one listener, no rate limit (dnsperf sends
 * everything from one address), one upstream stand-in, one domains list blocked with NXDOMAIN,
 * a 100,000-entry cache, warnings only.
 */

/** The YAML lines of that configuration; callers append their own keys. */
export function benchPoolsinkYamlLines({ port, upstreamPort, listFile }) {
  return [
    'dns:',
    `  listen: ["127.0.0.1:${port}"]`,
    '  allowClients: ["127.0.0.0/8"]',
    '  rateLimit: { qps: 0 }', // dnsperf sends everything from one address
    `upstreams: ["127.0.0.1:${upstreamPort}"]`,
    'block: { response: nxdomain, ttlSec: 60 }',
    'blocklists:',
    `  - { name: bench, source: ${JSON.stringify(listFile)}, format: domains }`,
    'allowlist: []',
    'cache: { maxEntries: 100000, minTtlSec: 0, maxTtlSec: 86400, serveStaleSec: 86400 }',
    'log: { level: warn }',
  ];
}
