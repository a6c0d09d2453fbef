/**
 * `node scripts/bench/ip-set.mjs` (after `npm run build`): the response-IP lookup's cost.
 * Builds an IpSet of 100,000 IPv4 addresses and 20,000 networks (/16 to /30) plus 20,000 IPv6
 * /48s, then looks up 2,000,000 addresses read from a DNS-message-like buffer, and prints ns per
 * lookup and the heap growth over the lookups (allocation per lookup would show as MBs).
 */
import { createIpSetBuilder } from '../../dist/net/ip-set.js';

const builder = createIpSetBuilder();
let seed = 2463534242;
/** xorshift32: deterministic, spread over all 32 bits. */
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
};
const start = performance.now();
for (let i = 0; i < 100_000; i++) {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(random());
  builder.add({ family: 4, bytes, prefix: 32 }, i);
}
for (let i = 0; i < 20_000; i++) {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(random());
  builder.add({ family: 4, bytes, prefix: 16 + (i % 15) }, 100_000 + i);
}
for (let i = 0; i < 20_000; i++) {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32BE(0x20010db8);
  bytes.writeUInt16BE(i, 4);
  builder.add({ family: 6, bytes, prefix: 48 }, 120_000 + i);
}
const set = builder.build();
const buildMs = performance.now() - start;

const LOOKUPS = 2_000_000;
const message = Buffer.alloc(4 * 1024 + 16 * 1024);
for (let i = 0; i < 1024; i++) message.writeUInt32BE(random(), i * 4);
for (let i = 0; i < 1024; i++) {
  message.writeUInt32BE(0x20010db8, 4096 + i * 16);
  message.writeUInt32BE(random(), 4096 + i * 16 + 4);
}
let hits = 0;
// Warm up until both lookups are optimized.
for (let i = 0; i < 3_000_000; i++) {
  hits += set.matchV4(message, (i & 1023) * 4) >= 0 ? 1 : 0;
  hits += set.matchV6(message, 4096 + (i & 1023) * 16) >= 0 ? 1 : 0;
}
hits = 0;
globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const t0 = performance.now();
for (let i = 0; i < LOOKUPS; i++) hits += set.matchV4(message, (i & 1023) * 4) >= 0 ? 1 : 0;
const v4Ns = ((performance.now() - t0) * 1e6) / LOOKUPS;
const t1 = performance.now();
for (let i = 0; i < LOOKUPS; i++) hits += set.matchV6(message, 4096 + (i & 1023) * 16) >= 0 ? 1 : 0;
const v6Ns = ((performance.now() - t1) * 1e6) / LOOKUPS;
const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
console.log(
  JSON.stringify({
    networks: set.size,
    buildMs: Math.round(buildMs),
    v4NsPerLookup: Math.round(v4Ns),
    v6NsPerLookup: Math.round(v6Ns),
    heapGrowthKiB: Math.round(heapGrowth / 1024),
    hits,
  }),
);
