/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a real
 * poolsink fed by real DNS queries from loopback clients named by an inventory file: sign in,
 * the incident with the host's name, acknowledge it, allowlist a name and see DNS answer it,
 * refresh a list, export CSV, a hostile blocked name shown as text that runs nothing, a wrong
 * token's message, sign out. No Content-Security-Policy violation anywhere (uPlot's sizing goes
 * through the CSSOM, which the policy allows). With POOLSINK_SCREENSHOTS=1 it saves a screenshot
 * of each page to docs/screenshots/. Skipped only when /usr/bin/chromium is absent (CI installs it).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser.js';
import { dig, udpExchange } from '../helpers/clients.js';
import { defaultIpv4, startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/notify-receivers.js';
import { encodeQuery } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { connectStratum } from '../helpers/stratum-client.js';
import { until, untilAsync } from '../helpers/wait.js';

const SCREENSHOTS = process.env['POOLSINK_SCREENSHOTS'] === '1';
const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', 'docs', 'screenshots');
/** Labels with markup, quotes and control bytes, under a blocked suffix. */
/** A wallet a hostile miner sends at the honeypot: markup that must stay text. */
const HOSTILE_WALLET = '<img src=x onerror=alert(1)>';
const HOSTILE_QNAME = `<script>alert(1)</script>."q'<b>x</b>\u0001\u0007.<img src=x onerror=alert(2)>.pool.example`;

let upstream: LocalUpstream;
let hook: HttpReceiver;
let stack: Stack;
let browser: BrowserContext;
let page: Page;
let profile: string;
let dir: string;
const dialogs: string[] = [];
const violations: string[] = [];

async function query(clientIp: string, qname: string, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    const reply = await udpExchange(stack.port, encodeQuery(qname, { id: i + 1 }), { bindAddress: clientIp });
    if (reply === undefined) throw new Error(`no answer to ${qname} from ${clientIp}`);
  }
  stack.poolsink.eventWriter.flush();
}

function recordOf(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw new Error(`not an object: ${JSON.stringify(value)}`);
  return Object.fromEntries(Object.entries(value));
}

async function incidentsOf(client: string): Promise<Record<string, unknown>[]> {
  const body = recordOf((await stack.api(`/api/v1/incidents?client=${client}`)).body);
  return Array.isArray(body['incidents']) ? body['incidents'].map(recordOf) : [];
}

async function shot(name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

async function go(hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

describe.skipIf(!existsSync(CHROMIUM))('the dashboard in chromium', () => {
  beforeAll(async () => {
    upstream = await startLocalUpstream();
    hook = await startHttpReceiver();
    dir = mkdtempSync(join(tmpdir(), 'poolsink-dashboard-'));
    writeFileSync(join(dir, 'hosts.csv'), 'ip,name,instanceId,region\n127.0.0.2,web-7,i-0abc,us-east-1\n');
    stack = await startStack({
      dir,
      upstreams: [upstream.address],
      lists: { pools: { text: 'pool.example\nminexmr.test\n' }, trial: { text: 'newpool.example\n', mode: 'alert' } },
      config: {
        hosts: { inventory: [{ source: 'hosts.csv' }] },
        honeypot: { listen: ['127.0.0.1:0'] },
        history: { enabled: true },
        // A row per query: the events page and its CSV below count the five queries of 127.0.0.2.
        database: { coalesceWindowMs: 0 },
        notify: [{ name: 'secops', type: 'webhook', url: `${hook.url}/hook`, events: ['test'] }],
      },
    });
    profile = mkdtempSync(join(tmpdir(), 'poolsink-chromium-'));
    // A fresh profile (--user-data-dir) per run.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      viewport: { width: 1440, height: 900 },
      acceptDownloads: true,
      args: CHROMIUM_ARGS,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.addInitScript({
      content:
        "document.addEventListener('securitypolicyviolation', (e) => " +
        "console.error('Content-Security-Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await upstream?.close();
    await hook?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('a wrong token gets a clear message and no access', async () => {
    await page.goto(`http://127.0.0.1:${stack.poolsink.admin.address.port}/`);
    await page.getByLabel('Admin token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The admin token was not accepted (401)').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await shot('sign-in');
  });

  test('sign in; the overview shows the incident the queries caused, live', async () => {
    await page.getByLabel('Admin token').fill(stack.poolsink.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByTestId('open-incidents').getByText('0').waitFor();
    await query('127.0.0.2', 'pool.example', 3);
    await query('127.0.0.2', 'x.minexmr.test', 2);
    await query('127.0.0.3', 'pool.example', 1);
    await query('127.0.0.3', 'newpool.example', 2);
    await query('127.0.0.5', 'example.org', 2);
    await until(() => stack.events.length >= 8);
    // The overview polls: the new incident appears without a reload.
    await page.getByTestId('open-incidents').getByText('2').waitFor();
    await page.getByRole('cell', { name: 'pool.example', exact: true }).waitFor();
    expect(page.url()).not.toContain(stack.poolsink.adminToken);
    await page.locator('.chart canvas').waitFor();
    await shot('overview');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('overview-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('the incident table names the host; acknowledge with a note and the API shows it', async () => {
    await go('/incidents');
    const row = page.getByRole('row').filter({ hasText: 'web-7' });
    await row.getByText('127.0.0.2').waitFor();
    await shot('incidents');
    await row.getByRole('link').click();
    await page.getByRole('heading', { name: 'Host identity' }).waitFor();
    await page.getByText('i-0abc').waitFor();
    await page.getByLabel('Note').fill('looking into web-7 <b>now</b>');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByTestId('incident-state').getByText('acknowledged').waitFor();
    await page.getByText('looking into web-7 <b>now</b>').waitFor();
    const [incident] = await incidentsOf('127.0.0.2');
    expect(incident).toMatchObject({ state: 'acknowledged', acknowledged: { note: 'looking into web-7 <b>now</b>' } });
    await shot('incident');
  });

  test('a hostile blocked name renders as text and runs nothing', async () => {
    const before = stack.events.length;
    await query('127.0.0.4', HOSTILE_QNAME, 1);
    // dns.workers > 1: the event reaches the primary over IPC after the answer.
    await until(() => stack.events.length > before);
    stack.poolsink.eventWriter.flush();
    const body = recordOf((await stack.api('/api/v1/events?client=127.0.0.4')).body);
    const events = Array.isArray(body['events']) ? body['events'].map(recordOf) : [];
    const shown = String(events[0]?.['qname']);
    expect(shown).toContain('<script>alert(1)</script>');
    await go('/events?client=127.0.0.4');
    const cell = page.locator('td.qname').first();
    await cell.waitFor();
    expect(await cell.textContent()).toBe(shown);
    expect(await page.locator('main script, main img, main b').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1);
    expect(dialogs).toEqual([]);
    // The overview's top names arrive raw (docs/dashboard-api.md): shown as given, as text.
    const overview = recordOf((await stack.api('/api/v1/overview')).body);
    const topNames = Array.isArray(overview['topNames']) ? overview['topNames'].map(recordOf) : [];
    const raw = topNames.map((n) => String(n['name'])).find((name) => name.includes('<script>'));
    expect(raw).toBeDefined();
    await go('/');
    await expect.poll(() => page.locator('main td.mono').allTextContents()).toContain(raw);
    expect(await page.locator('main script, main img, main b').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  test('hosts, events and a CSV export of the current filter', async () => {
    await go('/hosts');
    await page.getByRole('row').filter({ hasText: 'web-7' }).waitFor();
    await shot('hosts');
    const [hostsExport] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const hostLines = readFileSync(await hostsExport.path(), 'utf8')
      .trim()
      .split('\n');
    expect(hostLines[0]).toMatch(/^clientIp,/);
    expect(hostLines.some((line) => line.startsWith('127.0.0.2,'))).toBe(true);
    await go('/events');
    await page.getByLabel('Client IP').fill('127.0.0.2');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('td.qname').getByText('x.minexmr.test').first().waitFor();
    await expect.poll(() => page.locator('td.qname').count()).toBe(5);
    await shot('events');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('poolsink-events.csv');
    const file = await download.path();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^time,/);
    expect(lines).toHaveLength(6); // header and the five events from 127.0.0.2, nothing from others
    expect(lines.slice(1).every((line) => line.includes('127.0.0.2'))).toBe(true);
  });

  test('refresh a list, check a name, allowlist it and DNS answers it', async () => {
    await go('/lists');
    await page.getByRole('button', { name: 'Refresh pools' }).click();
    await page
      .getByRole('status')
      .getByText(/^pools: (unchanged|updated), 2 entries/)
      .waitFor();
    await page.getByRole('button', { name: 'Force…' }).first().click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    const checker = page.getByRole('region', { name: 'Check a name' });
    await checker.getByLabel('Name').fill('a.minexmr.test');
    await checker.getByRole('button', { name: 'Check' }).click();
    await page.getByTestId('verdict').getByText('block', { exact: true }).waitFor();
    expect(await page.getByTestId('verdict').textContent()).toContain('pools');
    const blocked = await dig(stack.port, ['minexmr.test', 'A']);
    expect(blocked.answers.join('\n')).not.toContain(defaultIpv4('minexmr.test'));
    const allowlist = page.getByRole('region', { name: 'Allowlist' });
    await allowlist.getByLabel('Allow name (and subdomains)').fill('minexmr.test');
    await allowlist.getByRole('button', { name: 'Allow' }).click();
    await allowlist.getByRole('button', { name: 'Remove minexmr.test from the allowlist' }).waitFor();
    const answered = await dig(stack.port, ['minexmr.test', 'A']);
    expect(answered.status).toBe('NOERROR');
    expect(answered.answers.join('\n')).toContain(defaultIpv4('minexmr.test'));
    await shot('lists');
  });

  test('an incident shows its miner logins as text; a retro incident is marked in the list and the detail', async () => {
    const port = stack.poolsink.honeypot?.plain[0]?.port ?? 0;
    const miner = await connectStratum(port, { localAddress: '127.0.0.6' });
    miner.send({
      id: 1,
      method: 'login',
      params: { login: HOSTILE_WALLET, pass: 'x', agent: '<script>alert(3)</script>XMRig/6.21.0', rigid: '<b>rig</b>' },
    });
    await miner.closed;
    let incidentId = 0;
    await untilAsync(async () => {
      const [incident] = await incidentsOf('127.0.0.6');
      incidentId = Number(incident?.['id'] ?? 0);
      return incidentId > 0;
    });
    await go(`/incidents/${incidentId}`);
    const logins = page.getByTestId('miner-logins');
    await logins.waitFor();
    expect(await logins.locator('td.wallet').allTextContents()).toEqual([HOSTILE_WALLET]);
    const row = logins.locator('tbody tr');
    expect(await row.count()).toBe(1);
    await row.getByText('<script>alert(3)</script>XMRig/6.21.0').waitFor();
    await row.getByText('<b>rig</b>').waitFor();
    expect(await row.locator('td').nth(4).textContent()).toBe('monero');
    expect(await page.locator('main script, main img, main b').count()).toBe(0);
    expect(await page.getByTestId('retro').count()).toBe(0);
    await shot('incident-logins');

    // 127.0.0.5 resolved example.org, which no list blocks: a retro-hunt finds it in the history.
    await untilAsync(async () => {
      const hunt = await stack.api('/api/v1/retro-hunt', {
        method: 'POST',
        body: { names: ['example.org'], record: true },
      });
      return hunt.status === 200 && recordOf(hunt.body)['incidents'] === 1;
    });
    const [retro] = await incidentsOf('127.0.0.5');
    expect(retro).toMatchObject({ retro: true });
    await go('/incidents');
    const retroRow = page
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: `#${String(retro?.['id'])}` }) });
    await retroRow.getByTestId('retro').waitFor();
    const minerRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: `#${incidentId}` }) });
    await minerRow.waitFor();
    expect(await minerRow.getByTestId('retro').count()).toBe(0);
    await retroRow.getByRole('link').click();
    await page.getByRole('heading', { name: `Incident #${String(retro?.['id'])}` }).waitFor();
    await page.getByTestId('retro').waitFor();
    await page.getByText('No miner logins at the honeypot.').waitFor();
    expect(await page.locator('main script, main img, main b').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  test('settings, then sign out forgets the token', async () => {
    await go('/settings');
    await page.getByRole('heading', { name: 'Effective configuration' }).waitFor();
    await page.getByText('notify[0].url').waitFor();
    expect(await page.locator('main').textContent()).not.toContain(hook.url);
    expect(await page.locator('main').textContent()).not.toContain(stack.poolsink.adminToken);
    await page.getByRole('button', { name: 'Send a test to secops' }).click();
    await page
      .getByRole('status')
      .getByText(/^Test message .+ queued for secops$/)
      .waitFor();
    await hook.next((post) => post.body.includes('poolsink test notification'));
    await shot('settings');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(violations).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
