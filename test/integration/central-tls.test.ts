/** TLS to the fleet PostgreSQL with CA verification (issue 15): the right CA connects, another is refused. */
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../helpers/clients.js';
import { eventually, startMember } from '../helpers/fleet.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { postgresAvailable, startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import type { Stack } from '../helpers/stack.js';

describe.runIf(postgresAvailable())('TLS to the fleet PostgreSQL', () => {
  let server: PostgresServer;
  let upstream: LocalUpstream;
  let stack: Stack | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'poolsink-tls-'));
  const otherCa = join(dir, 'other-ca.pem');

  beforeAll(async () => {
    server = await startPostgres({ tls: true });
    upstream = await startLocalUpstream();
    execFileSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'k'),
      '-out',
      otherCa,
      '-days',
      '1',
      '-subj',
      '/CN=other CA',
    ]);
  }, 120_000);
  afterAll(async () => {
    await upstream?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('ships over TLS when the server certificate chains to ssl.caFile', async () => {
    const member = await startMember(server, {
      name: 'az-a',
      upstream: upstream.address,
      postgres: { ssl: { caFile: server.caFile ?? '' } },
    });
    stack = member;
    expect((await dig(member.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    await eventually(async () => {
      const { body } = await member.api('/api/v1/fleet/events');
      return (
        (body as { source: string; events: unknown[] }).source === 'fleet' &&
        (body as { events: unknown[] }).events.length === 1
      );
    });
  });

  it('refuses a certificate another CA signed: degraded, with the reason', async () => {
    const member = await startMember(server, {
      name: 'az-b',
      upstream: upstream.address,
      postgres: { ssl: { caFile: otherCa } },
    });
    stack = member;
    expect((await dig(member.port, ['pool.example', 'A'])).status).toBe('NXDOMAIN');
    await eventually(async () => /certificate/i.test(member.poolsink.fleet?.status().lastError ?? ''));
    const health = await member.api('/healthz', { token: null });
    expect(health.body).toMatchObject({ status: 'degraded', reasons: ['central-unreachable'] });
  });
});
