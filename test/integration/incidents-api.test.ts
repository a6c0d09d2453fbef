/**
 * Incidents end to end: real DNS queries from loopback client addresses through the real server
 * into SQLite, read and changed over the authenticated admin API and the command line; a restart
 * keeps them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { POOL_AND_TRIAL_LISTS, blockedFrom, useStacks, type Stack } from '../helpers/stack.js';

const stacks = useStacks({ lists: POOL_AND_TRIAL_LISTS });

function start(dir?: string): Promise<Stack> {
  return stacks.start(dir !== undefined ? { dir } : {});
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function list(stack: Stack, query = ''): Promise<Record<string, unknown>[]> {
  const { status, body } = await stack.api(`/api/v1/incidents${query}`);
  expect(status).toBe(200);
  if (!isRecord(body) || !Array.isArray(body['incidents'])) throw new Error(`unexpected body ${JSON.stringify(body)}`);
  return body['incidents'].filter(isRecord);
}

describe('incidents over the API', () => {
  test('one incident per host; counted, escalated, acknowledged, resolved, recurring', async () => {
    const stack = await start();
    await blockedFrom(stack, '127.0.0.2', 'a.pool.example', 1);
    stack.poolsink.eventWriter.flush();
    const [opened] = await list(stack);
    expect(opened).toMatchObject({ clientIp: '127.0.0.2', state: 'open', severity: 'high', attempts: 1 });
    const id = Number(opened?.['id']);

    await blockedFrom(stack, '127.0.0.2', 'a.pool.example', 1000);
    stack.poolsink.eventWriter.flush();
    const counted = await list(stack);
    expect(counted).toHaveLength(1);
    expect(counted[0]).toMatchObject({ id, attempts: 1001, distinctNames: 1, protocols: ['udp'] });
    const levelBefore = Number(counted[0]?.['escalationLevel']);
    expect(levelBefore).toBeGreaterThanOrEqual(1); // 100 and 1,000 crossed

    await blockedFrom(stack, '127.0.0.2', 'minexmr.test', 1);
    stack.poolsink.eventWriter.flush();
    expect((await list(stack))[0]).toMatchObject({ id, distinctNames: 2, escalationLevel: levelBefore + 1 });

    const detail = await stack.api(`/api/v1/incidents/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      incident: { id, lists: ['pools'] },
      names: [
        { qname: 'a.pool.example', count: 1001 },
        { qname: 'minexmr.test', count: 1 },
      ],
    });
    const body = isRecord(detail.body) ? detail.body : {};
    expect(Array.isArray(body['recentEvents']) && body['recentEvents'][0]).toMatchObject({ incidentId: id });
    expect(Array.isArray(body['hours']) && body['hours'].length).toBeGreaterThanOrEqual(1);

    const hosts = await stack.api('/api/v1/hosts');
    expect(hosts.body).toMatchObject({ hosts: [{ clientIp: '127.0.0.2', incidentId: id }] });
    const events = await stack.api('/api/v1/events?client=127.0.0.2&limit=1');
    expect(events.body).toMatchObject({ events: [{ incidentId: id }] });

    const ack = await stack.api(`/api/v1/incidents/${id}/acknowledge`, { method: 'POST', body: { note: 'on it' } });
    expect(ack).toMatchObject({ status: 200, body: { state: 'acknowledged', acknowledged: { note: 'on it' } } });
    const again = await stack.api(`/api/v1/incidents/${id}/acknowledge`, { method: 'POST', body: { note: 'x' } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'ERR_CONFLICT' } } });
    const noNote = await stack.api(`/api/v1/incidents/${id}/resolve`, { method: 'POST', body: { note: '' } });
    expect(noNote.status).toBe(400);
    const missing = await stack.api('/api/v1/incidents/99999/resolve', { method: 'POST', body: { note: 'x' } });
    expect(missing.status).toBe(404);
    const resolved = await stack.api(`/api/v1/incidents/${id}/resolve`, { method: 'POST', body: { note: 'reimaged' } });
    expect(resolved).toMatchObject({ status: 200, body: { state: 'resolved', resolved: { by: 'operator' } } });

    await blockedFrom(stack, '127.0.0.2', 'x.newpool.example', 1);
    stack.poolsink.eventWriter.flush();
    const open = await list(stack, '?state=open');
    expect(open).toEqual([expect.objectContaining({ previousId: id, severity: 'medium' })]);
    expect(await list(stack, '?severity=high&client=127.0.0.2')).toEqual([expect.objectContaining({ id })]);
    const bad = await stack.api('/api/v1/incidents?state=closed');
    expect(bad.status).toBe(400);

    const history = await stack.api(`/api/v1/incidents/${id}`);
    const changes = isRecord(history.body) && Array.isArray(history.body['history']) ? history.body['history'] : [];
    const kinds = changes.filter(isRecord).map((h) => h['change']);
    expect(kinds[0]).toBe('opened');
    expect(kinds.slice(-2)).toEqual(['acknowledged', 'resolved']);
    expect(kinds.filter((k) => k === 'escalated')).toHaveLength(levelBefore + 1);
  });

  test('keyset pages, a restart keeps incidents, and the CLI lists, shows and changes them', async () => {
    const dir = stacks.tempDir('poolsink-incidents-it-');
    const first = await start(dir);
    for (const ip of ['127.0.0.11', '127.0.0.12', '127.0.0.13']) await blockedFrom(first, ip, 'pool.example', 1);
    await stacks.close(first);

    const second = await start(dir);
    await blockedFrom(second, '127.0.0.11', 'pool.example', 1);
    second.poolsink.eventWriter.flush();
    const page1 = await second.api('/api/v1/incidents?limit=2');
    expect(page1.status).toBe(200);
    const body1 = isRecord(page1.body) ? page1.body : {};
    expect(Array.isArray(body1['incidents']) && body1['incidents'].length).toBe(2);
    const page2 = await second.api(`/api/v1/incidents?limit=2&cursor=${String(body1['nextCursor'])}`);
    expect(page2.body).toMatchObject({ incidents: [{ clientIp: '127.0.0.11', attempts: 2 }], nextCursor: null });
    const all = await list(second);
    expect(all).toHaveLength(3);
    const id = Number(all.find((i) => i['clientIp'] === '127.0.0.12')?.['id']);

    const config = join(dir, 'cli.yaml');
    const adminPort = second.poolsink.admin.address.port;
    writeFileSync(
      config,
      `upstreams: ["127.0.0.1:9"]\ndataDir: data\nadmin:\n  listen: "127.0.0.1:${adminPort}"\n  token: "${second.poolsink.adminToken}"\n`,
    );
    const table = await runCli(['incidents', '--config', config, '--state', 'open', '--since', '1h']);
    expect(table.stderr).toBe('');
    expect(table.stdout.trim().split('\n')).toHaveLength(5); // header, rule, three incidents
    const ack = await runCli(['incident', String(id), 'acknowledge', '--note', 'seen\u001b[31m', '--config', config]);
    expect(ack).toMatchObject({ code: 0, stdout: `incident ${id}: acknowledged\n` });
    const conflict = await runCli(['incident', String(id), 'acknowledge', '--note', 'x', '--config', config]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/cannot become acknowledged/);
    const shown = await runCli(['incident', String(id), '--config', config]);
    expect(shown.stdout).toMatch(new RegExp(`^incident ${id}: acknowledged, severity high$`, 'm'));
    expect(shown.stdout).toContain('seen\\027[31m'); // the note's escape sequence, escaped
    expect(shown.stdout).not.toContain('\u001b');
  });
});
