/**
 * `BENCH_ONLY=incidents` (opt-in): issue 10's numbers.
 *  1. Blocked-query CPU per query, measured the way the `blocked` load is (dnsperf at a fixed rate,
 *     the server's CPU from /proc until it is idle again), on two poolsink processes in the same
 *     run, rounds interleaved: one with `incidents.enabled: false` and no sinks, one with incidents
 *     and a webhook sink posting to a receiver in this process. Target: within 5 %.
 *  2. 1,000 hosts opening incidents within one second: one blocked query from each of 1,000
 *     loopback addresses (127.1.x.y; Linux lets a socket bind any 127/8 address) to a fresh
 *     server, then the receiver counts what arrives until the rate limit's digest has summarised
 *     the rest. Target: all delivered or summarised, at most the sink's rate a minute, none lost.
 *
 * Environment: BENCH_NOTIFY_PER_MINUTE (the sink's rateLimit.perMinute, 30 as by default),
 * BENCH_BURST_HOSTS (1000). Prints numbers; never fails on a missed target.
 */
import { createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { stopChild } from './children.mjs';
import { writeBlockedQueries, writeDomainList, listDomain } from './data.mjs';
import { encodeQuery, readResponseHeader } from './dns-message.mjs';
import { findFreePort } from './probe.mjs';
import { median } from './report.mjs';

const LIST_SIZE = 100_000;
const BLOCKED_QUERIES = 20_000;
const SECRET = 'bench-webhook-secret-0123456789';
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const CPU_TARGET_RATIO = 1.05;
/** The digest window of src/notify/digest.ts, plus time for delivery. */
const DIGEST_WAIT_MS = 60_000 + 30_000;

function intSetting(env, name, fallback) {
  const value = Number(env[name] ?? fallback);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** A webhook receiver in this process: every POST parsed, timed and its signature checked. */
async function startReceiver() {
  const posts = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-poolsink-signature'])) ?? [];
      const signed = v1 !== undefined && createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex') === v1;
      let message = {};
      try {
        message = JSON.parse(body);
      } catch {
        // counted as a post without a type
      }
      posts.push({ atMs: performance.now(), type: message.type, data: message.data ?? {}, signed });
      res.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    posts,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

function serverYaml({ adminPort, incidents, receiverUrl, perMinute }) {
  const lines = [`admin: { listen: "127.0.0.1:${adminPort}", token: "${ADMIN_TOKEN}" }`];
  lines.push(`incidents: { enabled: ${incidents} }`);
  if (receiverUrl !== undefined) {
    lines.push(
      'notify:',
      `  - { name: bench, type: webhook, url: "${receiverUrl}", secretFile: hook-secret,`,
      '      events: [incident.opened, incident.escalated, incident.resolved],',
      `      rateLimit: { perMinute: ${perMinute} } }`,
    );
  }
  return lines;
}

async function startServer(deps, dir, name, options) {
  const serverDir = join(dir, name);
  mkdirSync(serverDir, { recursive: true });
  writeFileSync(join(serverDir, 'hook-secret'), `${SECRET}\n`);
  const adminPort = await findFreePort();
  const server = await deps.startPoolsink(serverDir, deps.settings, {
    upstreamPort: options.upstreamPort,
    listFile: options.listFile,
    extraYaml: serverYaml({ adminPort, ...options }),
  });
  return { ...server, label: name, adminPort };
}

async function api(server, path) {
  const response = await fetch(`http://127.0.0.1:${server.adminPort}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return response.json();
}

/** Part 1: the same blocked load against both servers, rounds interleaved; medians compared. */
async function measureCpu(deps, { plain, withIncidents, upstream, blockedFile, log }) {
  const { settings } = deps;
  const runs = { plain: [], incidents: [] };
  log(`incidents: warming up (${settings.warmupSeconds} s per server)`);
  for (const server of [plain, withIncidents])
    await deps.warmUp(server, 'blocked', blockedFile, settings, settings.warmupSeconds);
  for (let round = 0; round < settings.rounds; round += 1) {
    for (const [key, server] of [
      ['plain', plain],
      ['incidents', withIncidents],
    ]) {
      const run = await deps.measure(server, 'blocked', blockedFile, settings, { upstream, round });
      runs[key].push(run);
      log(`${deps.describeRun(run).replace('poolsink', server.label.padEnd(9))}`);
    }
  }
  const summary = (list) => ({
    qps: median(list.map((r) => r.qps)),
    microsPerQuery: median(list.map((r) => r.microsPerQuery)),
    mainMicrosPerQuery: median(list.map((r) => r.mainMicrosPerQuery)),
  });
  return { plain: summary(runs.plain), incidents: summary(runs.incidents), runs };
}

/** One blocked query from each of `hosts` loopback addresses, sent together; answers counted. */
async function burstFromHosts(port, hosts) {
  const sockets = [];
  for (let i = 0; i < hosts; i += 1) {
    const address = `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const socket = createSocket('udp4');
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, resolve);
    });
    sockets.push(socket);
  }
  let answered = 0;
  const replies = sockets.map(
    (socket) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, 5000);
        socket.once('message', (message) => {
          if (readResponseHeader(message) !== undefined) answered += 1;
          clearTimeout(timer);
          resolve();
        });
      }),
  );
  const startMs = performance.now();
  for (const [i, socket] of sockets.entries()) {
    socket.send(encodeQuery(listDomain(i * 7), (i % 0xffff) + 1), port, '127.0.0.1');
  }
  const sentMs = performance.now() - startMs;
  await Promise.all(replies);
  const answeredMs = performance.now() - startMs;
  for (const socket of sockets) socket.close();
  return { hosts, sentMs, answeredMs, answered, startMs };
}

async function countIncidents(server) {
  let count = 0;
  let cursor;
  for (;;) {
    const page = await api(server, `/api/v1/incidents?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    count += (page.incidents ?? []).filter((incident) => incident.clientIp.startsWith('127.1.')).length;
    if (!page.nextCursor) return count;
    cursor = page.nextCursor;
  }
}

/** The most non-digest messages received in any 60 s window. */
function maxPerMinute(posts) {
  const times = posts.filter((p) => p.type !== 'notify.digest').map((p) => p.atMs);
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i += 1) {
    while (times[i] - times[j] >= 60_000) j += 1;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Part 2: a fresh server, 1,000 hosts at once, everything the receiver gets until the digest. */
async function measureBurst(deps, { dir, upstream, listFile, perMinute, hosts, log }) {
  const receiver = await startReceiver();
  const server = await startServer(deps, dir, 'burst', {
    upstreamPort: upstream.port,
    listFile,
    incidents: true,
    receiverUrl: receiver.url,
    perMinute,
  });
  try {
    const burst = await burstFromHosts(server.port, hosts);
    log(
      `incidents: ${hosts} hosts sent in ${burst.sentMs.toFixed(0)} ms, ${burst.answered} answered within ` +
        `${burst.answeredMs.toFixed(0)} ms; waiting up to ${DIGEST_WAIT_MS / 1000} s for deliveries and the digest`,
    );
    const opened = () => receiver.posts.filter((p) => p.type === 'incident.opened');
    const digests = () => receiver.posts.filter((p) => p.type === 'notify.digest');
    const heldInDigests = () => digests().reduce((sum, p) => sum + (p.data.byType?.['incident.opened'] ?? 0), 0);
    const deadline = performance.now() + DIGEST_WAIT_MS;
    while (opened().length + heldInDigests() < hosts && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const incidentsOpened = await countIncidents(server);
    const status = (await api(server, '/api/v1/notify')).sinks?.[0] ?? {};
    const delivered = opened().length;
    const held = heldInDigests();
    return {
      hosts,
      sentMs: burst.sentMs,
      answered: burst.answered,
      incidentsOpened,
      delivered,
      signed: receiver.posts.filter((p) => p.signed).length,
      posts: receiver.posts.length,
      firstDeliveryMs: delivered > 0 ? Math.min(...opened().map((p) => p.atMs)) - burst.startMs : undefined,
      digests: digests().length,
      digestAfterMs: digests().length > 0 ? digests()[0].atMs - burst.startMs : undefined,
      heldInDigests: held,
      lost: hosts - delivered - held,
      maxPerMinute: maxPerMinute(receiver.posts),
      perMinute,
      sinkStatus: status,
    };
  } finally {
    await stopChild(server.child);
    await receiver.close();
  }
}

/**
 * `deps` are bench.mjs's own pieces, so both parts measure exactly as the other loads do:
 * { settings, startUpstream, startPoolsink, measure, warmUp, describeRun }.
 */
export async function runIncidentsBench({ env = process.env, deps, dir, log }) {
  const perMinute = intSetting(env, 'BENCH_NOTIFY_PER_MINUTE', 30);
  const hosts = Math.min(intSetting(env, 'BENCH_BURST_HOSTS', 1000), 62_500);
  const listFile = join(dir, 'incidents-list-100k.txt');
  const blockedFile = join(dir, 'incidents-queries-blocked.txt');
  writeDomainList(listFile, LIST_SIZE);
  writeBlockedQueries(blockedFile, { listSize: LIST_SIZE, count: BLOCKED_QUERIES });
  const upstream = await deps.startUpstream();
  const receiver = await startReceiver();
  const plain = await startServer(deps, dir, 'plain', { upstreamPort: upstream.port, listFile, incidents: false });
  const withIncidents = await startServer(deps, dir, 'incidents', {
    upstreamPort: upstream.port,
    listFile,
    incidents: true,
    receiverUrl: receiver.url,
    perMinute,
  });
  log(
    `incidents: poolsink pids ${plain.pid} (no incidents, no sinks) and ${withIncidents.pid} (incidents, one webhook)`,
  );
  let cpu;
  try {
    cpu = await measureCpu(deps, { plain, withIncidents, upstream, blockedFile, log });
    cpu.receiverPosts = receiver.posts.length;
  } finally {
    await stopChild(plain.child);
    await stopChild(withIncidents.child);
    await receiver.close();
  }
  let burst;
  try {
    burst = await measureBurst(deps, { dir, upstream, listFile, perMinute, hosts, log });
  } finally {
    await stopChild(upstream.child);
  }
  return { cpu, burst };
}

function us(value) {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(2);
}

export function formatIncidentsReport({ cpu, burst }) {
  const ratio = cpu.incidents.microsPerQuery / cpu.plain.microsPerQuery;
  const mainRatio = cpu.incidents.mainMicrosPerQuery / cpu.plain.mainMicrosPerQuery;
  const lines = [
    'incidents and notifications (BENCH_ONLY=incidents)',
    `  blocked, no incidents, no sinks:      ${us(cpu.plain.microsPerQuery)} us/q whole process, ${us(cpu.plain.mainMicrosPerQuery)} us/q DNS thread, ${cpu.plain.qps?.toFixed(0)} qps`,
    `  blocked, incidents + 1 webhook sink:  ${us(cpu.incidents.microsPerQuery)} us/q whole process, ${us(cpu.incidents.mainMicrosPerQuery)} us/q DNS thread, ${cpu.incidents.qps?.toFixed(0)} qps (${cpu.receiverPosts} webhooks received)`,
    `  ratio: ${ratio.toFixed(3)}x whole process, ${mainRatio.toFixed(3)}x DNS thread (target <= ${CPU_TARGET_RATIO}x): ${ratio <= CPU_TARGET_RATIO ? 'met' : 'FAIL'}`,
    `  ${burst.hosts} hosts in ${burst.sentMs.toFixed(0)} ms: ${burst.answered} answered, ${burst.incidentsOpened} incidents opened`,
    `  delivered incident.opened: ${burst.delivered} (first ${burst.firstDeliveryMs?.toFixed(0) ?? '-'} ms after the burst; ${burst.signed} of ${burst.posts} posts signed correctly)`,
    `  digests: ${burst.digests} (after ${burst.digestAfterMs === undefined ? '-' : (burst.digestAfterMs / 1000).toFixed(1)} s), holding ${burst.heldInDigests} incident.opened`,
    `  delivered + held in digest = ${burst.delivered + burst.heldInDigests} of ${burst.hosts}: ${burst.lost === 0 ? 'none lost' : `FAIL: ${burst.lost} lost`}`,
    `  most received in any minute (digests aside): ${burst.maxPerMinute}, sink rate ${burst.perMinute}/min: ${burst.maxPerMinute <= burst.perMinute ? 'met' : 'FAIL'}`,
  ];
  return lines.join('\n');
}
