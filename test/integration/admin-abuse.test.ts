/**
 * The admin server against hostile clients (issue 11, finding 7): a rebinding page's Host header,
 * one address holding every connection with unfinished headers, and a flood of wrong tokens.
 */
import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { DEFAULT_ADMIN_LIMITS, startAdminServer, type AdminLimits, type AdminServer } from '../../src/admin/server.js';
import { useAdminStore } from '../helpers/admin-store.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'abuse-token-0123456789abcdef';

const store = useAdminStore('poolsink-admin-abuse-');
const servers: AdminServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  options: { hostnames?: string[]; limits?: Partial<AdminLimits> } = {},
): Promise<{ server: AdminServer; base: string }> {
  const server = await startAdminServer({
    listen: { host: '127.0.0.1', port: 0 },
    token: TOKEN,
    log: store.logged.log,
    deps: store.deps(),
    ...(options.hostnames !== undefined ? { hostnames: options.hostnames } : {}),
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
  });
  servers.push(server);
  return { server, base: `http://127.0.0.1:${server.address.port}` };
}

describe('Host header (DNS rebinding)', () => {
  test('a name that is not an IP, localhost or admin.hostnames gets 421 on every route, /healthz included', async () => {
    const { base } = await start({ hostnames: ['poolsink.internal'] });
    for (const path of ['/healthz', '/metrics', '/api/v1/hosts']) {
      for (const host of ['attacker.example', 'attacker.example:8053', 'localhost.attacker.example']) {
        const response = await request(`${base}${path}`, {
          headers: { host, authorization: `Bearer ${TOKEN}` },
        });
        expect(response.statusCode, `${host} ${path}`).toBe(421);
        expect(await response.body.json()).toMatchObject({ error: { code: 'ERR_MISDIRECTED' } });
      }
    }
    for (const host of ['localhost:8053', 'poolsink.internal', '127.0.0.1', '[::1]:8053']) {
      const response = await request(`${base}/healthz`, { headers: { host } });
      expect(response.statusCode, host).toBe(200);
      await response.body.dump();
    }
  });
});

describe('connections per client', () => {
  test('64 connections from one address that never finish their headers do not stall /healthz', async () => {
    // Header timeouts far away, so only the per-client cap can free the server-wide slots.
    const { server } = await start({ limits: { headersTimeoutMs: 600_000, requestTimeoutMs: 600_000 } });
    const slow = DEFAULT_ADMIN_LIMITS.maxConnections;
    let closed = 0;
    for (let i = 0; i < slow; i++) {
      const socket = connect({ host: '127.0.0.1', port: server.address.port, localAddress: '127.0.0.5' });
      socket.on('error', () => {
        // Reset by the server when over the cap; counted by 'close'.
      });
      socket.on('close', () => closed++);
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      sockets.push(socket);
    }
    const cut = slow - DEFAULT_ADMIN_LIMITS.maxConnectionsPerClient;
    await until(() => closed >= cut, 10_000);

    const response = await request(`http://127.0.0.1:${server.address.port}/healthz`);
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    expect(closed).toBe(cut);
  });
});

describe('failed logins in the log', () => {
  test('100 wrong tokens from one address: one warning at once, then one summary with the count', async () => {
    const { server, base } = await start();
    for (let i = 0; i < 100; i++) {
      const response = await request(`${base}/api/v1/hosts`, { headers: { authorization: `Bearer wrong-${i}` } });
      expect(response.statusCode).toBe(401);
      await response.body.dump();
    }
    const warnings = (): Record<string, unknown>[] => store.logged.lines.filter((line) => line['level'] === 40);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ client: '127.0.0.1', msg: 'admin request with a wrong token' });

    await server.close();
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ client: '127.0.0.1', count: 99, msg: 'admin requests with a wrong token' });
  });
});
