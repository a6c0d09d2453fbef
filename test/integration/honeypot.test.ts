/**
 * Issue 13 part 1 with real parts: the real server answering a blocked name with its own sinkhole
 * address, stratum clients of each flavour connecting to the honeypot over real TCP and TLS from
 * loopback addresses, the logins read back over the admin API, the host's incident raised to
 * critical, and incident.escalated delivered to a real HTTP receiver. Then the abuse cases, each
 * awaited by its close event, while DNS keeps answering.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { dig, udpExchange } from '../helpers/clients.js';
import { startLocalUpstream } from '../helpers/local-upstream.js';
import { startHttpReceiver, type HttpPost } from '../helpers/notify-receivers.js';
import { encodeQuery } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { STRATUM_LOGINS, connectStratum } from '../helpers/stratum-client.js';
import { until, untilAsync } from '../helpers/wait.js';
import { runCli } from '../helpers/cli.js';
import { REFUSAL } from '../../src/honeypot/stratum-session.js';
import { CERT_FILE, KEY_FILE, loadOrCreateCertificate } from '../../src/honeypot/certificate-store.js';
import { validateConfig } from '../../src/config/load.js';

const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

// C0 controls (but not the newline that ends each line), DEL and the C1 range, as UTF-8 text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(honeypot: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Stack> {
  const upstream = await startLocalUpstream();
  cleanups.push(() => upstream.close());
  const stack = await startStack({
    upstreams: [upstream.address],
    config: {
      block: { response: 'sinkhole', sinkholeIpv4: '127.0.0.1' },
      honeypot: { listen: ['127.0.0.1:0'], tlsListen: ['127.0.0.1:0'], ...honeypot },
      ...extra,
    },
  });
  cleanups.push(() => stack.close());
  return stack;
}

function honeypotOf(stack: Stack) {
  const honeypot = stack.poolsink.honeypot;
  if (honeypot === undefined) throw new Error('honeypot not started');
  return honeypot;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function logins(stack: Stack, query: string): Promise<Record<string, unknown>[]> {
  const { status, body } = await stack.api(`/api/v1/miner-logins${query}`);
  expect(status).toBe(200);
  return isRecord(body) && Array.isArray(body['logins']) ? body['logins'].filter(isRecord) : [];
}

/** Polls the API (the writer thread records asynchronously). */
async function loginsWhen(stack: Stack, query: string, count: number): Promise<Record<string, unknown>[]> {
  let found: Record<string, unknown>[] = [];
  await untilAsync(async () => {
    found = await logins(stack, query);
    return found.length >= count;
  });
  return found;
}

function escalationFor(clientIp: string) {
  return (post: HttpPost): boolean => {
    const body: unknown = JSON.parse(post.body);
    return (
      isRecord(body) &&
      body['type'] === 'incident.escalated' &&
      isRecord(body['data']) &&
      body['data']['client'] === clientIp
    );
  };
}

describe('logins of each flavour', () => {
  test('a miner led by the sinkhole logs in (4 flavours, plain and TLS): recorded, incident critical, incident.escalated', async () => {
    const receiver = await startHttpReceiver();
    cleanups.push(() => receiver.close());
    const stack = await start(
      {},
      { notify: [{ name: 'secops', type: 'webhook', url: receiver.url, events: ['incident.escalated'] }] },
    );
    const honeypot = honeypotOf(stack);
    const plainPort = honeypot.plain[0]?.port ?? 0;
    const tlsPort = honeypot.tls[0]?.port ?? 0;

    // The miner resolves its pool through poolsink and is sent to poolsink itself.
    const answer = await dig(stack.port, ['-b', '127.0.0.2', 'pool.example', 'A']);
    expect(answer.answers[0]).toMatch(/^pool\.example\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1$/);

    const monero = await connectStratum(plainPort, { localAddress: '127.0.0.2' });
    const moneroReplies = await STRATUM_LOGINS.monero(monero, `${XMR}.rig-a`);
    expect(moneroReplies).toEqual([{ id: 1, jsonrpc: '2.0', result: null, error: { code: -1, message: REFUSAL } }]);

    const bitcoin = await connectStratum(tlsPort, { tls: true, localAddress: '127.0.0.3' });
    const bitcoinReplies = await STRATUM_LOGINS.bitcoin(bitcoin, 'bc1qexample.worker1');
    expect(bitcoinReplies).toHaveLength(3);
    expect(bitcoinReplies[2]).toEqual({ id: 3, result: null, error: [24, REFUSAL, null] });
    // The certificate served is the one kept in dataDir, its key readable by the owner only.
    const dataDir = join(stack.dir, 'data');
    const certPem = readFileSync(join(dataDir, CERT_FILE), 'utf8');
    expect(bitcoin.peerCertificateRaw()?.equals(new X509Certificate(certPem).raw)).toBe(true);
    expect(statSync(join(dataDir, KEY_FILE)).mode & 0o777).toBe(0o600);

    const ethStratum = await connectStratum(plainPort, { localAddress: '127.0.0.4' });
    await STRATUM_LOGINS.ethereumStratum(ethStratum, '0xdeadbeef.rig-e');
    const ethProxy = await connectStratum(tlsPort, { tls: true, localAddress: '127.0.0.5' });
    await STRATUM_LOGINS.ethProxy(ethProxy, '0xcafe');

    const all = await loginsWhen(stack, '?client=127.0.0.0/29', 4);
    expect(all.map((l) => [l['clientIp'], l['protocol'], l['tls'], l['port']])).toEqual([
      ['127.0.0.5', 'eth-proxy', true, tlsPort],
      ['127.0.0.4', 'ethereum-stratum', false, plainPort],
      ['127.0.0.3', 'bitcoin', true, tlsPort],
      ['127.0.0.2', 'monero', false, plainPort],
    ]);
    const [monroLogin] = await logins(stack, `?wallet=${XMR}`);
    expect(monroLogin).toMatchObject({
      clientIp: '127.0.0.2',
      login: `${XMR}.rig-a`,
      wallet: XMR,
      worker: 'rig-7',
      password: 'x',
      agent: 'XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0',
      algorithms: ['rx/0', 'cn/r'],
    });
    expect(await logins(stack, '?wallet=0xcafe')).toMatchObject([{ worker: 'rig-eth', clientIp: '127.0.0.5' }]);
    expect(await logins(stack, '?since=2000-01-01&until=2000-01-02')).toEqual([]);
    expect((await stack.api('/api/v1/miner-logins?client=nonsense')).status).toBe(400);

    // Pages: newest first, a cursor to the rest.
    const first = await stack.api('/api/v1/miner-logins?limit=3');
    const cursor = isRecord(first.body) ? String(first.body['nextCursor']) : '';
    const rest = await logins(stack, `?limit=3&cursor=${cursor}`);
    expect(rest.map((l) => l['clientIp'])).toEqual(['127.0.0.2']);

    // The host that resolved the pool: one incident, now critical, holding its login.
    const incidentId = monroLogin?.['incidentId'];
    expect(typeof incidentId).toBe('number');
    const detail = await stack.api(`/api/v1/incidents/${String(incidentId)}`);
    expect(detail.status).toBe(200);
    const body = isRecord(detail.body) ? detail.body : {};
    expect(body['incident']).toMatchObject({ clientIp: '127.0.0.2', severity: 'critical', attempts: 1 });
    expect(body['minerLogins']).toMatchObject([{ wallet: XMR, protocol: 'monero' }]);
    expect(body['history']).toMatchObject([{ change: 'opened' }, { change: 'escalated', actor: 'poolsink' }]);
    const escalated = await receiver.next(escalationFor('127.0.0.2'));
    expect(JSON.parse(escalated.body)).toMatchObject({
      type: 'incident.escalated',
      data: { severity: 'critical', reasons: [`miner login at the honeypot (port ${plainPort}, monero stratum)`] },
    });
    // A host that logged in without a lookup through poolsink gets an incident too.
    await receiver.next(escalationFor('127.0.0.5'));
    expect(honeypot.outcomes.login).toBe(4);
    const metrics = await stack.api('/metrics');
    expect(String(metrics.body)).toContain('poolsink_honeypot_connections_total{outcome="login"} 4');
    expect(String(metrics.body)).toMatch(/poolsink_honeypot_open_connections \d/);
  });
});

describe('hostile clients', () => {
  test('over-long line, garbage, too many bytes, TLS garbage: cut and counted', async () => {
    const stack = await start({ maxLineBytes: 256, maxBytesPerConnection: 1024 });
    const honeypot = honeypotOf(stack);
    const port = honeypot.plain[0]?.port ?? 0;

    const long = await connectStratum(port);
    long.sendRaw('{"id":1,"method":"login","params":{"login":"'.padEnd(300, 'A'));
    await long.closed;
    expect(honeypot.outcomes.line_too_long).toBe(1);

    const http = await connectStratum(port);
    http.sendRaw('GET / HTTP/1.1\r\nHost: pool\r\n\r\n');
    await http.closed;
    expect(honeypot.outcomes.garbage).toBe(1);

    const chatty = await connectStratum(port);
    chatty.sendRaw('\n'.repeat(2000));
    await chatty.closed;
    expect(honeypot.outcomes.too_many_bytes).toBe(1);

    const tlsPort = honeypot.tls[0]?.port ?? 0;
    const notTls = await connectStratum(tlsPort);
    notTls.send({ id: 1, method: 'login', params: { login: XMR } });
    await notTls.closed;
    expect(honeypot.outcomes.tls_error).toBe(1);
    expect(honeypot.outcomes.login).toBe(0);
    expect(await logins(stack, '')).toEqual([]);
  });

  test('per-client cap, then slow clients time out; the open count returns to 0', async () => {
    const stack = await start({ maxConnectionsPerClient: 2, loginTimeoutMs: 300 });
    const honeypot = honeypotOf(stack);
    const port = honeypot.plain[0]?.port ?? 0;
    const slow = [
      await connectStratum(port, { localAddress: '127.0.0.6' }),
      await connectStratum(port, { localAddress: '127.0.0.6' }),
    ];
    await until(() => honeypot.open === 2);
    const third = await connectStratum(port, { localAddress: '127.0.0.6' });
    await third.closed;
    expect(honeypot.outcomes.refused_client).toBe(1);
    // Another address is not affected by 127.0.0.6's cap.
    const other = await connectStratum(port, { localAddress: '127.0.0.7' });
    other.sendRaw('{"id":1,"method":"mining.subscribe","params":["slow/1.0"]}\n');
    await other.waitReplies(1);
    await Promise.all([...slow.map((c) => c.closed), other.closed]);
    expect(honeypot.outcomes.timeout).toBe(3);
    await until(() => honeypot.open === 0);
  });

  test('a flood of idle and garbage connections: the total cap holds and DNS still answers', async () => {
    const stack = await start({ maxConnections: 16, maxConnectionsPerClient: 4, loginTimeoutMs: 60_000 });
    const honeypot = honeypotOf(stack);
    const port = honeypot.plain[0]?.port ?? 0;
    const idle = [];
    for (let host = 10; host < 14; host += 1)
      for (let i = 0; i < 4; i += 1) idle.push(await connectStratum(port, { localAddress: `127.0.0.${host}` }));
    await until(() => honeypot.open === 16);
    const refused = await connectStratum(port, { localAddress: '127.0.0.20' });
    await refused.closed;
    expect(honeypot.outcomes.refused_total).toBe(1);
    const garbage = Array.from({ length: 50 }, async () => {
      const c = await connectStratum(port, { localAddress: '127.0.0.21' });
      c.sendRaw(Buffer.alloc(512, 0xff));
      await c.closed;
    });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => udpExchange(stack.port, encodeQuery('pool.example', { id: i + 1 }))),
    );
    expect(answers.every((reply) => reply !== undefined)).toBe(true);
    await Promise.all(garbage);
    expect(honeypot.outcomes.refused_total).toBeGreaterThanOrEqual(50);
    for (const c of idle) c.socket.destroy();
    await until(() => honeypot.open === 0);
  });
});

describe('configuration and certificate', () => {
  test.each<[string, Record<string, unknown>, string]>([
    ['a bad address', { listen: ['nonsense'] }, 'config honeypot.listen[0]: "nonsense" is not an address:port'],
    [
      'an address twice',
      { listen: ['127.0.0.1:3333'], tlsListen: ['127.0.0.1:3333'] },
      'config honeypot.tlsListen[0]: 127.0.0.1:3333 is listed twice',
    ],
    [
      'line cap over byte cap',
      { maxLineBytes: 8192, maxBytesPerConnection: 4096 },
      'config honeypot.maxLineBytes: must not exceed',
    ],
    ['an unknown key', { port: 3333 }, 'honeypot'],
  ])('%s is refused naming the key', (_name, honeypot, message) => {
    expect(() => validateConfig({ upstreams: ['127.0.0.1:53'], honeypot }, tmpdir())).toThrow(message);
  });

  test('off by default; the certificate is generated once and reused', () => {
    expect(validateConfig({ upstreams: ['127.0.0.1:53'] }, tmpdir()).honeypot).toMatchObject({
      listen: [],
      tlsListen: [],
      maxConnections: 256,
      maxConnectionsPerClient: 4,
      maxLineBytes: 4096,
      maxBytesPerConnection: 16_384,
      loginTimeoutMs: 10_000,
    });
    const dir = mkdtempSync(join(tmpdir(), 'poolsink-cert-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dataDir = join(dir, 'data');
    const log = pino({ level: 'silent' });
    const first = loadOrCreateCertificate(dataDir, log);
    expect(loadOrCreateCertificate(dataDir, log)).toEqual(first);
    expect(statSync(join(dataDir, KEY_FILE)).mode & 0o777).toBe(0o600);
    writeFileSync(join(dataDir, KEY_FILE), 'not a key');
    expect(() => loadOrCreateCertificate(dataDir, log)).toThrow(/honeypot TLS: .*honeypot-cert\.pem/);
  });
});

describe('poolsink logins', () => {
  test('hostile login fields reach the terminal escaped, one row per login; filters as the API', async () => {
    const stack = await start({});
    const port = honeypotOf(stack).plain[0]?.port ?? 0;
    const hostile = '\u001b[2J\rforged\nrow\u00ff';
    const c = await connectStratum(port, { localAddress: '127.0.0.8' });
    c.send({
      id: 1,
      method: 'login',
      params: { login: `W${hostile}`, pass: hostile, agent: hostile, algo: [hostile] },
    });
    await c.closed;
    await loginsWhen(stack, '?client=127.0.0.8', 1);

    const config = join(stack.dir, 'cli.yaml');
    writeFileSync(config, 'upstreams: ["127.0.0.1:9"]\ndataDir: data\n');
    const shown = await runCli(['logins', '--config', config, '--client', '127.0.0.0/24', '--since', '1h']);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toContain('W\\027[2J\\013forged\\010row');
    expect(shown.stdout).not.toMatch(CONTROL);
    expect(shown.stdout.trim().split('\n')).toHaveLength(3); // header, rule, one login
    const none = await runCli(['logins', '--config', config, '--wallet', 'nobody']);
    expect(none.stdout).toBe('no miner logins\n');
    const bad = await runCli(['logins', '--config', config, '--client', 'nonsense']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--client');
  });

  test("poolsink incident ID lists the incident's miner logins, every client string escaped", async () => {
    const stack = await start({});
    const port = honeypotOf(stack).tls[0]?.port ?? 0;
    const c = await connectStratum(port, { tls: true, localAddress: '127.0.0.9' });
    // Raw bytes: ESC, CR, LF (as JSON escapes), a C1 CSI, a bidi override, ÿ, and a byte that is no UTF-8.
    const wallet = Buffer.concat([
      Buffer.from('"W\\u001b[31m\\rforged\\nrow\\u009b2J\\u202e', 'utf8'),
      Buffer.from([0xc3, 0xbf, 0xff]),
      Buffer.from('end"', 'utf8'),
    ]);
    c.sendRaw(
      Buffer.concat([
        Buffer.from('{"id":1,"method":"login","params":{"login":'),
        wallet,
        Buffer.from(',"pass":"rig\\u0007x","agent":"XMRig\\u001b]0;pwned\\u0007"}}\n'),
      ]),
    );
    await c.closed;
    const [login] = await loginsWhen(stack, '?client=127.0.0.9', 1);
    const incidentId = String(login?.['incidentId']);
    expect(incidentId).toMatch(/^[0-9]+$/);

    const config = join(stack.dir, 'cli.yaml');
    writeFileSync(config, 'upstreams: ["127.0.0.1:9"]\ndataDir: data\n');
    const shown = await runCli(['incident', incidentId, '--config', config]);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).not.toMatch(CONTROL);
    expect(shown.stdout).not.toContain('\u202e');
    const lines = shown.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('TIME (UTC)') && l.includes('WALLET'));
    expect(lines[header]).toMatch(/CLIENT PORT\s+PORT\s+TLS\s+PROTOCOL\s+WALLET\s+WORKER\s+AGENT$/);
    const row = lines[header + 2] ?? '';
    expect(row).toMatch(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\d+\\s+${port}\\s+yes\\s+monero\\s`),
    );
    expect(row).toContain('W\\027[31m\\013forged\\010row\\194\\1552J\\226\\128\\174ÿ\uFFFDend');
    expect(row).toContain('XMRig\\027]0;pwned\\007');
    expect(lines[header + 3]).toBe(''); // one login, one row: the forged line break stayed in its cell
  });
});
