/**
 * The dashboard's Fleet page in chromium (issue 15): two instances on one real PostgreSQL, blocks
 * at both; the page (offered only on a fleet member) lists both instances, their events with the
 * instance names, the one fleet incident across both, and a hostile name as text that runs
 * nothing. With PostgreSQL stopped it shows this instance's events under the Local-view banner.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM, launchBrowser, signIn, type Browser } from '../helpers/browser.js';
import { udpExchange } from '../helpers/clients.js';
import { eventually, startMember } from '../helpers/fleet.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';
import { postgresAvailable, startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import { startStack, type Stack } from '../helpers/stack.js';

const HOSTILE_QNAME = `<script>alert(1)</script>."q'<b>x</b>\u0001.<img src=x onerror=alert(2)>.pool.example`;

interface FleetPage {
  source: string;
  events: { instance: string; qname: string }[];
}

async function block(stack: Stack, qname: string): Promise<void> {
  const reply = await udpExchange(stack.port, encodeQuery(qname, { id: 7 }), { bindAddress: '127.0.0.1' });
  if (reply === undefined) throw new Error(`no answer to ${qname}`);
}

describe.runIf(postgresAvailable() && existsSync(CHROMIUM))('the Fleet page in chromium', () => {
  let server: PostgresServer;
  let upstream: LocalUpstream;
  let a: Stack;
  let b: Stack;
  let browser: Browser;

  beforeAll(async () => {
    server = await startPostgres();
    upstream = await startLocalUpstream();
    a = await startMember(server, { name: 'az-a', upstream: upstream.address });
    b = await startMember(server, { name: 'az-b', upstream: upstream.address });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await a?.close();
    await b?.close();
    await upstream?.close();
    await server?.close();
  });

  test('an instance without central.postgres offers no Fleet page', async () => {
    const solo = await startStack({ upstreams: [upstream.address] });
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

  test('with PostgreSQL stopped, the local view under a clear banner', async () => {
    await server.stop();
    const tab = browser.page;
    await tab.reload();
    await tab.evaluate(`location.hash = '#/fleet'`);
    await tab.getByTestId('fleet-local').getByText('Local view: PostgreSQL unreachable').waitFor();
    const events = tab.getByTestId('fleet-events');
    await expect.poll(() => events.locator('td.instance').allTextContents()).toEqual(['az-a', 'az-a']);
    expect(await tab.locator('main script, main img, main b').count()).toBe(0);
    expect(browser.dialogs).toEqual([]);
  });
});
