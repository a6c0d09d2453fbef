/**
 * Terminal injection through the block log (issue 11 #3): a query name holding ESC, CR and LF,
 * sent as raw bytes over UDP, is blocked and logged; `poolsink events`, `poolsink hosts` (the real
 * command line) and the CSV export show it in DNS presentation format with no control byte.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { udpExchange } from '../helpers/clients.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { encodeQuery } from '../helpers/packets.js';
import { startStack, type Stack } from '../helpers/stack.js';

const upstreams: LocalUpstream[] = [];
const stacks: Stack[] = [];

afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

// C0 controls (but not the newline that ends each line), DEL and the C1 range, as UTF-8 text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('names from hostile clients reach people escaped', () => {
  test('ESC [2J, CR and LF in a blocked name: events, hosts and CSV show them as decimal escapes', async () => {
    const up = await startLocalUpstream();
    upstreams.push(up);
    const stack = await startStack({ upstreams: [up.address] });
    stacks.push(stack);
    // One label of raw bytes (latin1 one char per byte): clear the screen, forge a row, and a 0xff byte.
    const hostile = '\u001b[2J\rforged\nrow\u00ff';
    const reply = await udpExchange(stack.port, encodeQuery(`${hostile}.pool.example`));
    expect(reply).toBeDefined();
    stack.poolsink.eventWriter.flush();
    await vi.waitFor(async () => {
      const { body } = await stack.api('/api/v1/events');
      expect(body).toMatchObject({ events: [{ qname: `${hostile.replace('J', 'j')}.pool.example` }] });
    });

    const config = join(stack.dir, 'cli.yaml');
    writeFileSync(config, 'upstreams: ["127.0.0.1:9"]\ndataDir: data\n');
    const shown = '\\027[2j\\013forged\\010row\\255.pool.example';
    const events = await runCli(['events', '--config', config]);
    expect(events).toMatchObject({ code: 0, stderr: '' });
    expect(events.stdout).toContain(shown);
    expect(events.stdout).not.toMatch(CONTROL);
    expect(events.stdout.trim().split('\n')).toHaveLength(3); // header, rule, one event: no forged row

    const hosts = await runCli(['hosts', '--config', config]);
    expect(hosts).toMatchObject({ code: 0, stderr: '' });
    expect(hosts.stdout).toContain(`${shown} (1)`);
    expect(hosts.stdout).not.toMatch(CONTROL);

    const csv = await stack.api('/api/v1/events?format=csv');
    expect(csv.status).toBe(200);
    const text = String(csv.body);
    expect(text).toContain(`,${shown},`);
    expect(text.replaceAll('\r\n', '')).not.toMatch(CONTROL);
    expect(text.split('\r\n')).toHaveLength(3); // header, one event, the empty tail
  });
});
