/**
 * Miner logins in a fleet (issue 15): two poolsink instances with honeypots and one real
 * PostgreSQL. A login at either ships by the second cursor (once, whatever retries), raises the
 * host's one fleet incident to critical, and incident.escalated goes out once fleet-wide; both
 * admin APIs list the fleet's logins; fleet incidents carry severity and names. The command line
 * reads the same fleet view (--fleet: events, incidents, hosts, logins, client strings escaped), and
 * says when it is the local one.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockEvent } from '../helpers/block-events.js';
import { runCli } from '../helpers/cli.js';
import { dig } from '../helpers/clients.js';
import { centralQuery, eventually, useFleet } from '../helpers/fleet.js';
import { startHttpReceiver } from '../helpers/notify-receivers.js';
import { postgresAvailable } from '../helpers/postgres-server.js';
import type { Stack } from '../helpers/stack.js';
import { STRATUM_LOGINS, connectStratum } from '../helpers/stratum-client.js';

// C0 controls (but not the newline that ends each line), DEL and the C1 range: none may reach a terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

interface LoginPage {
  source: string;
  logins: { instance: string; clientIp: string; wallet: string; protocol: string; incidentId: number | null }[];
  nextCursor: string | null;
}

interface FleetIncidentView {
  id: number;
  clientIp: string;
  severity: string;
  names: string[];
  logins: number;
  instances: string[];
  escalated: { reason: string } | null;
}

describe.runIf(postgresAvailable())('miner logins of a fleet on one PostgreSQL', () => {
  const fleet = useFleet();

  function startPair(notifyUrl: string): Promise<[Stack, Stack]> {
    return fleet.startPair({
      block: { response: 'sinkhole', sinkholeIpv4: '127.0.0.1' },
      honeypot: { listen: ['127.0.0.1:0'] },
      notify: [{ name: 'hook', type: 'webhook', url: notifyUrl, events: ['incident.opened', 'incident.escalated'] }],
    });
  }

  function honeypotPort(stack: Stack): number {
    const port = stack.poolsink.honeypot?.plain[0]?.port;
    if (port === undefined) throw new Error('honeypot not started');
    return port;
  }

  async function fleetIncidents(stack: Stack): Promise<FleetIncidentView[]> {
    const { status, body } = await stack.api('/api/v1/fleet/incidents');
    expect(status).toBe(200);
    return (body as { incidents: FleetIncidentView[] }).incidents;
  }

  it('ships logins once, escalates the one fleet incident to critical, and notifies the escalation once', async () => {
    const sink = fleet.closeAfterTest(await startHttpReceiver());
    const [a, b] = await startPair(sink.url);
    // The host is blocked at both instances: one incident, severity of the lists (high), both names.
    expect((await dig(a.port, ['-b', '127.0.0.2', 'pool.example', 'A'])).status).toBe('NOERROR');
    expect((await dig(b.port, ['-b', '127.0.0.2', 'minexmr.test', 'A'])).status).toBe('NOERROR');
    await eventually(async () => {
      const incidents = await fleetIncidents(a);
      return incidents.length === 1 && incidents[0]?.instances.length === 2;
    });
    const [before] = await fleetIncidents(b);
    expect(before).toMatchObject({ clientIp: '127.0.0.2', severity: 'high', logins: 0, escalated: null });
    expect([...(before?.names ?? [])].sort()).toEqual(['minexmr.test', 'pool.example']);

    // It then logs in at a's honeypot (monero) and at b's (bitcoin stratum).
    await STRATUM_LOGINS.monero(await connectStratum(honeypotPort(a), { localAddress: '127.0.0.2' }), `${XMR}.rig-a`);
    await STRATUM_LOGINS.bitcoin(await connectStratum(honeypotPort(b), { localAddress: '127.0.0.2' }), 'bc1qx.w1');
    await eventually(async () => {
      const { body } = await b.api('/api/v1/fleet/miner-logins');
      return (body as LoginPage).logins.length === 2;
    });
    for (const stack of [a, b]) {
      const { status, body } = await stack.api('/api/v1/fleet/miner-logins');
      expect(status).toBe(200);
      const page = body as LoginPage;
      expect(page.source).toBe('fleet');
      expect(page.logins.map((l) => `${l.instance} ${l.clientIp} ${l.protocol}`).sort()).toEqual([
        'az-a 127.0.0.2 monero',
        'az-b 127.0.0.2 bitcoin',
      ]);
      expect(page.logins.every((l) => l.incidentId === before?.id)).toBe(true);
    }
    const byWallet = (await a.api(`/api/v1/fleet/miner-logins?wallet=${XMR}`)).body as LoginPage;
    expect(byWallet.logins.map((l) => l.instance)).toEqual(['az-a']);
    const byInstance = (await a.api('/api/v1/fleet/miner-logins?instance=az-b&limit=1')).body as LoginPage;
    expect(byInstance.logins.map((l) => l.wallet)).toEqual(['bc1qx']);
    expect(byInstance.nextCursor).toBeNull();
    const paged = (await a.api('/api/v1/fleet/miner-logins?limit=1')).body as LoginPage;
    expect(paged.logins).toHaveLength(1);
    const rest = (await a.api(`/api/v1/fleet/miner-logins?limit=1&cursor=${paged.nextCursor}`)).body as LoginPage;
    expect(rest.logins).toHaveLength(1);
    expect(rest.logins[0]?.instance).not.toBe(paged.logins[0]?.instance);

    const [after] = await fleetIncidents(a);
    expect(after).toMatchObject({ id: before?.id, severity: 'critical', logins: 2 });
    expect(after?.escalated?.reason).toMatch(/^miner login at the honeypot \(port \d+, (monero|bitcoin) stratum\)$/);

    // Shipping again (both instances, cursors in PostgreSQL) neither duplicates nor notifies again.
    await eventually(async () => sink.posts.some((p) => p.body.includes('"incident.escalated"')));
    await a.poolsink.fleet?.shipNow();
    await b.poolsink.fleet?.shipNow();
    await centralQuery(fleet.server, 'UPDATE central_instances SET last_login_id = 0');
    await a.poolsink.fleet?.shipNow();
    await b.poolsink.fleet?.shipNow();
    const rows = await centralQuery<{ n: string }>(fleet.server, 'SELECT count(*) AS n FROM central_miner_logins');
    expect(rows).toEqual([{ n: '2' }]);
    const [still] = await fleetIncidents(b);
    expect(still?.logins).toBe(2);
    const types = sink.posts.map((p) => (JSON.parse(p.body) as { type: string }).type).sort();
    expect(types).toEqual(['incident.escalated', 'incident.opened']);
    const escalated = sink.posts.find((p) => p.body.includes('"incident.escalated"'));
    expect(JSON.parse(escalated?.body ?? '{}')).toMatchObject({
      type: 'incident.escalated',
      data: { scope: 'fleet', client: '127.0.0.2', severity: 'critical', reasons: [after?.escalated?.reason] },
    });
  });

  it('prints the fleet view through the command line, escaped, and marks the local view', async () => {
    const sink = fleet.closeAfterTest(await startHttpReceiver());
    const [a, b] = await startPair(sink.url);
    const hostile = 'x\u001b[2J\rforged\nrow.pool.example';
    a.poolsink.eventWriter.record(blockEvent(Date.now(), { clientIp: '10.9.0.1', qname: hostile }));
    expect((await dig(b.port, ['-b', '127.0.0.3', 'minexmr.test', 'A'])).status).toBe('NOERROR');
    // Severity: the highest of the instances' (an alerting list: medium; a blocking one: high).
    const alerted = { list: 'watch', action: 'alerted' as const };
    a.poolsink.eventWriter.record(blockEvent(Date.now(), { clientIp: '10.9.0.5', ...alerted }));
    b.poolsink.eventWriter.record(blockEvent(Date.now(), { clientIp: '10.9.0.5' }));
    a.poolsink.eventWriter.record(blockEvent(Date.now(), { clientIp: '10.9.0.6', ...alerted }));
    await eventually(async () => {
      const { body } = await a.api('/api/v1/fleet/incidents');
      const list = (body as { incidents: FleetIncidentView[] }).incidents;
      return list.length === 4 && list.every((i) => i.clientIp !== '10.9.0.5' || i.instances.length === 2);
    });
    const severities = ((await b.api('/api/v1/fleet/incidents')).body as { incidents: FleetIncidentView[] }).incidents
      .map((i) => `${i.clientIp} ${i.severity}`)
      .sort();
    expect(severities).toEqual(['10.9.0.1 high', '10.9.0.5 high', '10.9.0.6 medium', '127.0.0.3 high']);
    // The CLI talks to a's admin API: its configuration names a's admin port and data directory (token).
    const config = join(a.dir, 'cli.yaml');
    const adminPort = a.poolsink.admin.address.port;
    writeFileSync(config, `upstreams: ["127.0.0.1:9"]\ndataDir: data\nadmin: { listen: "127.0.0.1:${adminPort}" }\n`);

    const events = await runCli(['events', '--fleet', '--config', config]);
    expect(events).toMatchObject({ code: 0, stderr: '' });
    const lines = events.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+INSTANCE\s+CLIENT/);
    expect(events.stdout).not.toContain('local view');
    expect(events.stdout).not.toMatch(CONTROL);
    expect(lines.some((l) => /\saz-a\s+10\.9\.0\.1\s/.test(l) && l.includes('x\\027[2J\\013forged\\010row'))).toBe(
      true,
    );
    expect(lines.some((l) => /\saz-b\s+127\.0\.0\.3\s.*minexmr\.test/.test(l))).toBe(true);
    const onlyB = await runCli(['events', '--fleet', '--instance', 'az-b', '--config', config]);
    expect(onlyB.stdout).not.toContain('az-a');
    expect(onlyB.stdout).toContain('az-b');
    const withoutFleet = await runCli(['events', '--instance', 'az-b', '--config', config]);
    expect(withoutFleet.code).toBe(2);
    expect(withoutFleet.stderr).toContain('--instance needs --fleet');

    const incidents = await runCli(['incidents', '--fleet', '--config', config]);
    expect(incidents).toMatchObject({ code: 0, stderr: '' });
    expect(incidents.stdout).toMatch(/^ID\s+STATE\s+SEVERITY\s+HOST\s+INSTANCES/);
    expect(incidents.stdout).toMatch(/open\s+high\s+127\.0\.0\.3\s+az-b\s/);
    expect(incidents.stdout).toMatch(/open\s+high\s+10\.9\.0\.1\s+az-a\s/);
    expect(incidents.stdout).not.toMatch(CONTROL);

    const hosts = await runCli(['hosts', '--fleet', '--config', config]);
    expect(hosts).toMatchObject({ code: 0, stderr: '' });
    expect(hosts.stdout).toMatch(/^CLIENT\s+INSTANCE/);
    expect(hosts.stdout).toMatch(/127\.0\.0\.3\s+az-b/);

    // Miner logins of both instances; every client-sent string escaped for the terminal.
    const miner = await connectStratum(honeypotPort(a), { localAddress: '127.0.0.4' });
    miner.send({
      id: 1,
      method: 'login',
      params: { login: 'w\u001b[2J\rforged\nrow', pass: 'x', agent: 'evil\u009b31m\u202eagent', rigid: 'r\u0007' },
    });
    await miner.closed;
    await STRATUM_LOGINS.bitcoin(await connectStratum(honeypotPort(b), { localAddress: '127.0.0.4' }), 'bc1qcli.w1');
    await eventually(async () => {
      const { body } = await a.api('/api/v1/fleet/miner-logins');
      return (body as LoginPage).logins.length === 2;
    });
    const logins = await runCli(['logins', '--fleet', '--config', config]);
    expect(logins).toMatchObject({ code: 0, stderr: '' });
    const loginLines = logins.stdout.trimEnd().split('\n');
    expect(loginLines[0]).toMatch(/^TIME \(UTC\)\s+INSTANCE\s+CLIENT\s+HOST\s+PORT\s+PROTOCOL\s+WALLET/);
    expect(loginLines).toHaveLength(4);
    expect(logins.stdout).not.toMatch(CONTROL);
    expect(logins.stdout).not.toMatch(/[\u202a-\u202e]/);
    const hostileLine = loginLines.find((l) => /\saz-a\s+127\.0\.0\.4\s/.test(l));
    expect(hostileLine).toContain('w\\027[2J\\013forged\\010row');
    expect(hostileLine).toContain('evil\\194\\15531m\\226\\128\\174agent');
    expect(loginLines.some((l) => /\saz-b\s+127\.0\.0\.4\s.*bitcoin\s+bc1qcli\s/.test(l))).toBe(true);
    const loginsAtB = await runCli(['logins', '--fleet', '--instance', 'az-b', '--config', config]);
    expect(loginsAtB).toMatchObject({ code: 0, stderr: '' });
    expect(loginsAtB.stdout).toContain('bc1qcli');
    expect(loginsAtB.stdout).not.toContain('az-a');
    const byNetwork = await runCli([
      'logins',
      '--fleet',
      '--client',
      '127.0.0.0/24',
      '--wallet',
      'bc1qcli',
      '--config',
      config,
    ]);
    expect(byNetwork.stdout.trimEnd().split('\n')).toHaveLength(3);
    const badClient = await runCli(['logins', '--fleet', '--client', 'nonsense', '--config', config]);
    expect(badClient.code).not.toBe(0);
    expect(badClient.stderr).toContain('client');
    expect((await runCli(['logins', '--instance', 'az-b', '--config', config])).stderr).toContain(
      '--instance needs --fleet',
    );

    // PostgreSQL away: the server answers from its own log, and the CLI says so.
    await fleet.server.stop();
    try {
      await eventually(
        async () => ((await a.api('/api/v1/fleet/events')).body as { source: string }).source === 'local',
      );
      const local = await runCli(['events', '--fleet', '--config', config]);
      expect(local).toMatchObject({ code: 0, stderr: '' });
      expect(local.stdout.split('\n')[0]).toBe('(local view: PostgreSQL unreachable)');
      expect(local.stdout).toContain('10.9.0.1');
      expect(local.stdout).not.toContain('az-b');
      const localIncidents = await runCli(['incidents', '--fleet', '--config', config]);
      expect(localIncidents).toMatchObject({ code: 0, stderr: '' });
      expect(localIncidents.stdout.split('\n')[0]).toBe('(local view: PostgreSQL unreachable)');
      expect(localIncidents.stdout).toContain('10.9.0.1');
      const localLogins = await runCli(['logins', '--fleet', '--config', config]);
      expect(localLogins).toMatchObject({ code: 0, stderr: '' });
      expect(localLogins.stdout.split('\n')[0]).toBe('(local view: PostgreSQL unreachable)');
      expect(localLogins.stdout).toContain('forged');
      expect(localLogins.stdout).not.toContain('bc1qcli');
      expect(localLogins.stdout).not.toMatch(CONTROL);
    } finally {
      await fleet.server.start();
    }
  });
});
