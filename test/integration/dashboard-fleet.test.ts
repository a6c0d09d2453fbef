/**
 * The dashboard's Fleet page in chromium (issue 15): two instances on one real PostgreSQL, blocks
 * and honeypot logins at both; the page (offered only on a fleet member) lists both instances, the
 * hosts, miner logins and events with the instance names, the one fleet incident across both
 * (acknowledged and resolved from the page: the other instance's API sees it), and a hostile name,
 * wallet and agent as text that runs nothing. With PostgreSQL stopped it shows this instance's
 * hosts, logins and events under the Local-view banner; with a lock held on the fleet's events, a
 * member's reads time out (central.postgres.readTimeoutMs) and the banner says so.
 */
import pg from 'pg';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM, launchBrowser, signIn, type Browser } from '../helpers/browser.js';
import { udpExchange } from '../helpers/clients.js';
import { centralQuery, eventually, useFleet } from '../helpers/fleet.js';
import { encodeQuery } from '../helpers/packets.js';
import { postgresAvailable } from '../helpers/postgres-server.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { STRATUM_LOGINS, connectStratum } from '../helpers/stratum-client.js';

const HOSTILE_QNAME = `<script>alert(1)</script>."q'<b>x</b>\u0001.<img src=x onerror=alert(2)>.pool.example`;
/** What a hostile miner sends at the honeypot: markup and control bytes that must stay text. */
const HOSTILE_WALLET = '<img src=x onerror=alert(4)>';
const HOSTILE_AGENT = '<script>alert(5)</script>XMRig\u0007/6.21.0';
/** Members answer blocked names with the sinkhole (127.0.0.1), where their honeypot listens. */
const MEMBER_CONFIG = {
  block: { response: 'sinkhole', sinkholeIpv4: '127.0.0.1' },
  honeypot: { listen: ['127.0.0.1:0'] },
};

interface FleetIncidentView {
  id: number;
  state: string;
  instances: string[];
  acknowledged: { note: string } | null;
}

interface FleetPage {
  source: string;
  events: { instance: string; qname: string; qtypeName: string }[];
}

function honeypotPort(stack: Stack): number {
  const port = stack.poolsink.honeypot?.plain[0]?.port;
  if (port === undefined) throw new Error('honeypot not started');
  return port;
}

async function fleetIncidents(stack: Stack, query = ''): Promise<FleetIncidentView[]> {
  const { body } = await stack.api(`/api/v1/fleet/incidents${query}`);
  return (body as { incidents: FleetIncidentView[] }).incidents;
}

async function block(stack: Stack, qname: string): Promise<void> {
  const reply = await udpExchange(stack.port, encodeQuery(qname, { id: 7 }), { bindAddress: '127.0.0.1' });
  if (reply === undefined) throw new Error(`no answer to ${qname}`);
}

describe.runIf(postgresAvailable() && existsSync(CHROMIUM))('the Fleet page in chromium', () => {
  // One scenario: the page's state goes on from test to test (the incident, then PostgreSQL stopped).
  const fleet = useFleet({ scenario: true });
  let a: Stack;
  let b: Stack;
  let browser: Browser;

  beforeAll(async () => {
    [a, b] = await fleet.startPair(MEMBER_CONFIG);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  test('an instance without central.postgres offers no Fleet page', async () => {
    const solo = await startStack({ upstreams: [fleet.upstream.address] });
    try {
      expect((await solo.api('/api/v1/fleet/instances')).status).toBe(404);
      await signIn(browser.page, solo.poolsink.admin.address.port, solo.poolsink.adminToken);
      await browser.page.getByRole('link', { name: 'Settings' }).waitFor();
      expect(await browser.page.getByRole('link', { name: 'Fleet' }).count()).toBe(0);
      await browser.page.getByRole('button', { name: 'Sign out' }).click();
    } finally {
      await solo.close();
    }
  });

  test('shows both instances, their events by instance and the fleet incident; names as text', async () => {
    await block(a, 'pool.example');
    await block(a, HOSTILE_QNAME);
    await block(b, 'x.minexmr.test');
    let page: FleetPage | undefined;
    await eventually(async () => {
      page = (await a.api('/api/v1/fleet/events')).body as FleetPage;
      return page.events.length === 3;
    });
    const hostile = page?.events.find((e) => e.qname.includes('<script>'))?.qname;
    expect(hostile).toContain('<img src=x onerror=alert(2)>');
    // The fleet gives names as the local /events does (raw, any byte), and both pages show them as text.
    const local = (await a.api('/api/v1/events')).body as { events: { qname: string; qtypeName: string }[] };
    expect(local.events.map((e) => e.qname)).toContain(hostile);
    const fleetHostile = page?.events.find((e) => e.qname === hostile);
    expect(fleetHostile).toMatchObject({ qtypeName: 'A' });
    await eventually(async () => {
      const { body } = await a.api('/api/v1/fleet/incidents');
      return (body as { incidents: { instances: string[] }[] }).incidents[0]?.instances.length === 2;
    });

    const tab = browser.page;
    await signIn(tab, a.poolsink.admin.address.port, a.poolsink.adminToken);
    await tab.getByRole('link', { name: 'Fleet' }).click();
    await tab.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    const instances = tab.getByTestId('fleet-instances');
    await instances.waitFor();
    expect(await instances.locator('td.instance').allTextContents()).toEqual(
      expect.arrayContaining(['az-a (this one)', 'az-b']),
    );
    const events = tab.getByTestId('fleet-events');
    await events.waitFor();
    expect((await events.locator('td.instance').allTextContents()).sort()).toEqual(['az-a', 'az-a', 'az-b']);
    expect(await events.locator('td.qname').allTextContents()).toContain(hostile);
    expect(await tab.locator('main script, main img, main b').count()).toBe(0);
    expect(browser.dialogs).toEqual([]);
    const incidents = tab.getByTestId('fleet-incidents');
    await incidents.waitFor();
    const across = await incidents.locator('td.instances').allTextContents();
    expect(across.map((text) => text.split(', ').sort().join(' '))).toEqual(['az-a az-b']);
    expect(await tab.getByTestId('fleet-local').count()).toBe(0);

    // The instance filter: only az-b's row.
    await tab.locator('select[name=instance]').selectOption('az-b');
    await expect.poll(() => events.locator('td.instance').allTextContents()).toEqual(['az-b']);
    expect(await events.locator('td.qname').allTextContents()).toEqual(['x.minexmr.test']);
  });

  test('hosts and miner logins by instance, hostile strings as text', async () => {
    const miner = await connectStratum(honeypotPort(a));
    miner.send({
      id: 1,
      method: 'login',
      params: { login: HOSTILE_WALLET, pass: 'x', agent: HOSTILE_AGENT, rigid: '<b>rig</b>' },
    });
    await miner.closed;
    await STRATUM_LOGINS.bitcoin(await connectStratum(honeypotPort(b)), 'bc1qfleet.w1');
    await eventually(async () => {
      const { body } = await a.api('/api/v1/fleet/miner-logins');
      return (body as { logins: unknown[] }).logins.length === 2;
    });
    const tab = browser.page;
    await tab.locator('select[name=instance]').selectOption('');
    const logins = tab.getByTestId('fleet-logins');
    await expect.poll(() => logins.locator('td.instance').allTextContents(), { timeout: 20_000 }).toHaveLength(2);
    expect((await logins.locator('td.instance').allTextContents()).sort()).toEqual(['az-a', 'az-b']);
    expect((await logins.locator('td.wallet').allTextContents()).sort()).toEqual([HOSTILE_WALLET, 'bc1qfleet'].sort());
    expect(await logins.locator('td.agent').allTextContents()).toContain(HOSTILE_AGENT);
    expect(await logins.locator('td.worker').allTextContents()).toContain('<b>rig</b>');
    const hosts = tab.getByTestId('fleet-hosts');
    await hosts.waitFor();
    expect((await hosts.locator('td.instance').allTextContents()).sort()).toEqual(['az-a', 'az-b']);
    expect(await tab.locator('main script, main img, main b').count()).toBe(0);
    expect(browser.dialogs).toEqual([]);

    // The instance filter narrows hosts and logins too.
    await tab.locator('select[name=instance]').selectOption('az-b');
    await expect.poll(() => logins.locator('td.wallet').allTextContents()).toEqual(['bc1qfleet']);
    await expect.poll(() => hosts.locator('td.instance').allTextContents()).toEqual(['az-b']);
    await tab.locator('select[name=instance]').selectOption('');
  });

  test('acknowledge and resolve a fleet incident: PostgreSQL and the other instance see it', async () => {
    const [incident] = await fleetIncidents(a);
    expect(incident?.state).toBe('open');
    const tab = browser.page;
    const row = tab.getByTestId('fleet-incidents').locator(`tr[data-incident="${incident?.id}"]`);
    await row.waitFor();
    await row.getByLabel('Note').fill('looking into it <b>now</b>');
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.locator('.state').getByText('acknowledged').waitFor();
    const stored = await centralQuery<{ state: string }>(
      fleet.server,
      'SELECT state FROM central_incidents WHERE id = $1',
      [incident?.id],
    );
    expect(stored).toEqual([{ state: 'acknowledged' }]);
    const [seenAtB] = await fleetIncidents(b, '?state=acknowledged');
    expect(seenAtB).toMatchObject({ id: incident?.id, acknowledged: { note: 'looking into it <b>now</b>' } });
    expect(await row.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);

    await row.getByLabel('Note').fill('reimaged');
    await row.getByRole('button', { name: 'Resolve' }).click();
    await row.locator('.state').getByText('resolved').waitFor();
    expect((await fleetIncidents(b, '?state=resolved')).map((i) => i.id)).toEqual([incident?.id]);
    expect(await row.getByRole('button').count()).toBe(0);
    expect(await tab.locator('main script, main img, main b').count()).toBe(0);
    expect(browser.dialogs).toEqual([]);
  });

  test('with PostgreSQL stopped, the local view under a clear banner', async () => {
    await fleet.server.stop();
    const tab = browser.page;
    await tab.reload();
    await tab.evaluate(`location.hash = '#/fleet'`);
    await tab.getByTestId('fleet-local').getByText('Local view: PostgreSQL unreachable').waitFor();
    const events = tab.getByTestId('fleet-events');
    await expect.poll(() => events.locator('td.instance').allTextContents()).toEqual(['az-a', 'az-a']);
    const logins = tab.getByTestId('fleet-logins');
    await expect.poll(() => logins.locator('td.instance').allTextContents()).toEqual(['az-a']);
    expect(await logins.locator('td.wallet').allTextContents()).toEqual([HOSTILE_WALLET]);
    await expect.poll(() => tab.getByTestId('fleet-hosts').locator('td.instance').allTextContents()).toEqual(['az-a']);
    expect(await tab.locator('main script, main img, main b').count()).toBe(0);
    expect(browser.dialogs).toEqual([]);
  });

  test('with a lock held on the fleet events, the banner says PostgreSQL did not answer in time', async () => {
    await fleet.server.start();
    const c = await fleet.startMember({ name: 'az-c', postgres: { readTimeoutMs: 300 } });
    const session = new pg.Client({ connectionString: fleet.server.url() });
    await session.connect();
    try {
      await session.query('BEGIN');
      await session.query('LOCK TABLE central_events IN ACCESS EXCLUSIVE MODE');
      const tab = browser.page;
      await signIn(tab, c.poolsink.admin.address.port, c.poolsink.adminToken);
      await tab.evaluate(`location.hash = '#/fleet'`);
      const banner = tab.getByTestId('fleet-local');
      await banner.getByText('Local view: PostgreSQL did not answer in time').waitFor();
      expect(await banner.getAttribute('title')).toContain('read timed out after 300 ms');
    } finally {
      await session.query('ROLLBACK');
      await session.end();
    }
  });
});
