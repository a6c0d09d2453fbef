/**
 * Incidents as the writer thread derives them: the real event writer with the incident tracker as
 * its batch hook, on a real SQLite file, with an injected clock (auto-resolve) and a recording
 * outbox (a NotificationOutbox that keeps what it is given).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isPoolsinkError } from '../../src/errors.js';
import { createIncidentTracker, type IncidentTracker } from '../../src/incidents/incident-tracker.js';
import type { Notification, NotificationOutbox } from '../../src/notify/notification.js';
import { openStoreConnection, type StoreConnection } from '../../src/store/database.js';
import { createEventWriter, type InProcessEventWriter } from '../../src/store/event-writer.js';
import { createEventQueries } from '../../src/store/queries.js';
import { blockEvent } from '../helpers/block-events.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 15, 10, 30);
const HOUR = 3_600_000;

let dir: string;
let connection: StoreConnection;
let now: number;
let sent: Notification[];
let tracker: IncidentTracker;
let writer: InProcessEventWriter;

const outbox: NotificationOutbox = { enqueue: (_db, notification) => void sent.push(notification) };

function start(maxNames?: number): void {
  tracker = createIncidentTracker({
    ...(maxNames !== undefined ? { maxNames } : {}),
    connection,
    log,
    severities: { critical: 'critical' },
    autoResolveHours: 72,
    outbox,
    identityFor: (ip) => (ip === '10.0.0.1' ? { name: 'web-7', instanceId: 'i-0abc', source: 'inventory' } : undefined),
    clock: () => now,
  });
  writer = createEventWriter({ connection, log, batchHook: tracker, clock: () => now });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsink-incidents-'));
  connection = openStoreConnection(join(dir, 'poolsink.db'), { log });
  now = T0;
  sent = [];
  start();
});

afterEach(() => {
  writer.close();
  connection.close();
  rmSync(dir, { recursive: true, force: true });
});

function types(): string[] {
  return sent.map((n) => n.type);
}

function incidents() {
  return createEventQueries(connection).incidents({}, 100).incidents;
}

describe('incidents from events', () => {
  test('names past maxNames count under one OTHER-NAMES row; names it has keep counting', () => {
    writer.close();
    start(3);
    for (let i = 0; i < 10; i++) writer.record(blockEvent(T0 + i, { qname: `r${i}.pool.example` }));
    writer.record(blockEvent(T0 + 20, { qname: 'r1.pool.example' }));
    writer.flush();
    const [incident] = incidents();
    expect(incident).toMatchObject({ attempts: 11, distinctNames: 3 });
    const names = connection.db
      .prepare('SELECT qname, count FROM incident_names WHERE incident_id = ? ORDER BY qname')
      .all(incident?.id) as { qname: string; count: number }[];
    expect(names).toEqual([
      { qname: 'OTHER-NAMES', count: 7 },
      { qname: 'r0.pool.example', count: 1 },
      { qname: 'r1.pool.example', count: 2 },
      { qname: 'r2.pool.example', count: 1 },
    ]);
  });

  test('a batch of many names past maxNames: kept names keep counting, the rest sum into OTHER-NAMES', () => {
    writer.close();
    start(3);
    for (let i = 0; i < 3; i++) writer.record(blockEvent(T0 + i, { qname: `k${i}.pool.example` }));
    writer.flush();
    // One batch: 200 new names (past the cap) between repeats of the 3 kept ones.
    writer.record(blockEvent(T0 + 10, { qname: 'k0.pool.example' }));
    for (let i = 0; i < 200; i++)
      writer.record(blockEvent(T0 + 100 + i, { qname: `n${i}.pool.example`, list: i === 199 ? 'last' : 'bench' }));
    writer.record(blockEvent(T0 + 400, { qname: 'k2.pool.example' }));
    writer.flush();
    const [incident] = incidents();
    expect(incident).toMatchObject({ attempts: 205, distinctNames: 3 });
    const names = connection.db
      .prepare('SELECT qname, list, count, first_ms, last_ms FROM incident_names WHERE incident_id = ? ORDER BY qname')
      .all(incident?.id);
    expect(names).toEqual([
      { qname: 'OTHER-NAMES', list: 'last', count: 200, first_ms: T0 + 100, last_ms: T0 + 299 },
      { qname: 'k0.pool.example', list: 'miners', count: 2, first_ms: T0, last_ms: T0 + 10 },
      { qname: 'k1.pool.example', list: 'miners', count: 1, first_ms: T0 + 1, last_ms: T0 + 1 },
      { qname: 'k2.pool.example', list: 'miners', count: 2, first_ms: T0 + 2, last_ms: T0 + 400 },
    ]);
  });

  test('first block opens one incident; 1,000 more count into it and escalate by step only', () => {
    writer.record(blockEvent(T0));
    writer.flush();
    expect(incidents()).toHaveLength(1);
    expect(incidents()[0]).toMatchObject({ state: 'open', severity: 'high', attempts: 1, distinctNames: 1 });
    expect(incidents()[0]?.identity).toEqual({ name: 'web-7', instanceId: 'i-0abc', source: 'inventory' });
    expect(types()).toEqual(['incident.opened']);
    expect(sent[0]?.payload).toMatchObject({ client: '10.0.0.1', names: [{ qname: 'pool.example', count: 1 }] });

    for (let i = 1; i <= 1000; i++) writer.record(blockEvent(T0 + i));
    writer.flush();
    const [incident] = incidents();
    expect(incidents()).toHaveLength(1);
    expect(incident?.attempts).toBe(1001);
    // 100 and 1,000 crossed: at most one escalation per step, in whatever batches they came.
    expect(types().filter((t) => t === 'incident.escalated').length).toBeLessThanOrEqual(2);
    expect(types().filter((t) => t === 'incident.opened')).toHaveLength(1);
    const events = createEventQueries(connection).events({ client: '10.0.0.1' }, 5).events;
    expect(events.every((e) => e.incidentId === incident?.id)).toBe(true);

    const before = incident?.escalationLevel ?? 0;
    writer.record(blockEvent(T0 + 2000, { qname: 'second-pool.example', list: 'critical' }));
    writer.flush();
    const after = incidents()[0];
    expect(after?.escalationLevel).toBe(before + 1);
    expect(after?.severity).toBe('critical');
    expect(after?.lists).toEqual(['critical', 'miners']);
    expect(sent.at(-1)).toMatchObject({ type: 'incident.escalated', payload: { reasons: ['2 distinct names'] } });
    const detail = createEventQueries(connection).incident(after?.id ?? 0, 5);
    expect(detail?.history.map((h) => h.change)).toContain('escalated');
    expect(detail?.hours.reduce((sum, h) => sum + h.count, 0)).toBe(1002);
  });

  test('dropped-event tallies count into the host incident (and open one)', () => {
    tracker.addTallies([
      {
        clientIp: '10.0.0.9',
        qname: 'pool.example',
        list: 'miners',
        action: 'alerted',
        count: 250,
        firstMs: T0,
        lastMs: T0 + 10,
      },
    ]);
    writer.addTallies([
      {
        clientIp: '10.0.0.9',
        qname: 'pool.example',
        list: 'miners',
        action: 'alerted',
        count: 250,
        firstMs: T0,
        lastMs: T0 + 10,
      },
    ]);
    writer.record(blockEvent(T0 + 20, { clientIp: '10.0.0.9', action: 'alerted' }));
    writer.flush();
    expect(incidents()).toHaveLength(1);
    expect(incidents()[0]).toMatchObject({ clientIp: '10.0.0.9', attempts: 251, severity: 'medium' });
  });

  test('acknowledge, resolve, invalid transitions; activity afterwards is a recurrence', () => {
    writer.record(blockEvent(T0));
    writer.flush();
    const id = incidents()[0]?.id ?? 0;
    tracker.change({ incidentId: id, to: 'acknowledged', note: 'looking' });
    expect(() => tracker.change({ incidentId: id, to: 'acknowledged', note: 'again' })).toThrow(/cannot become/);
    writer.record(blockEvent(T0 + 1));
    writer.flush();
    expect(incidents()).toHaveLength(1);
    expect(incidents()[0]).toMatchObject({ state: 'acknowledged', attempts: 2 });
    tracker.change({ incidentId: id, to: 'resolved', note: 'reimaged' });
    let conflict: unknown;
    try {
      tracker.change({ incidentId: id, to: 'resolved', note: 'x' });
    } catch (err: unknown) {
      conflict = err;
    }
    expect(isPoolsinkError(conflict, 'ERR_CONFLICT')).toBe(true);
    expect(() => tracker.change({ incidentId: 999, to: 'resolved', note: 'x' })).toThrow(/no incident 999/);
    expect(sent.at(-1)).toMatchObject({
      type: 'incident.resolved',
      payload: { state: 'resolved', resolvedBy: 'operator', note: 'reimaged' },
    });

    writer.record(blockEvent(T0 + 5));
    writer.flush();
    const [latest, first] = incidents();
    expect(latest).toMatchObject({ state: 'open', previousId: id });
    expect(first).toMatchObject({ id, state: 'resolved', resolved: { by: 'operator', note: 'reimaged' } });
  });

  test('auto-resolve after the quiet hours, by the injected clock; a restart keeps open incidents', () => {
    writer.record(blockEvent(T0));
    writer.record(blockEvent(T0, { clientIp: '10.0.0.2' }));
    writer.flush();
    now = T0 + 71 * HOUR;
    writer.record(blockEvent(now, { clientIp: '10.0.0.2' }));
    writer.flush();
    expect(tracker.sweep()).toBe(0);
    now = T0 + 72 * HOUR;
    expect(tracker.sweep()).toBe(1);
    const byClient = new Map(incidents().map((i) => [i.clientIp, i]));
    expect(byClient.get('10.0.0.1')).toMatchObject({ state: 'resolved', resolved: { by: 'auto' } });
    expect(byClient.get('10.0.0.2')?.state).toBe('open');
    expect(sent.at(-1)).toMatchObject({
      type: 'incident.resolved',
      payload: { state: 'resolved', resolvedBy: 'auto' },
    });

    writer.close();
    start();
    expect(tracker.active).toBe(1);
    writer.record(blockEvent(now, { clientIp: '10.0.0.2' }));
    writer.flush();
    expect(incidents().filter((i) => i.clientIp === '10.0.0.2')).toHaveLength(1);
    expect(incidents().find((i) => i.clientIp === '10.0.0.2')?.attempts).toBe(3);
  });

  test('a retro incident auto-resolves autoResolveHours after it was found, not after its old queries; a restart keeps that', () => {
    // Queries a week before the hunt, kept by the history; nothing listed them then.
    const queriedMs = T0 - 7 * 24 * HOUR;
    const finding = {
      clientIp: '10.0.0.9',
      names: [{ qname: 'fresh-pool.test', firstMs: queriedMs, lastMs: queriedMs + HOUR, count: 4 }],
      firstMs: queriedMs,
      lastMs: queriedMs + HOUR,
      count: 4,
    };
    expect(tracker.recordRetro([finding], 'late-feed')).toBe(1);
    expect(types()).toEqual(['incident.opened']);
    const [found] = incidents();
    expect(found).toMatchObject({ retro: true, state: 'open', attempts: 4, firstSeenMs: queriedMs });
    expect(found?.lastSeenMs).toBe(queriedMs + HOUR);
    // The next sweep right after: still open (it used to be resolved here).
    expect(tracker.sweep()).toBe(0);
    now = T0 + 71 * HOUR;
    expect(tracker.sweep()).toBe(0);

    // The same hunt again (record: true repeated): joined, nothing counted twice, nothing sent.
    expect(tracker.recordRetro([finding], 'retro-hunt')).toBe(1);
    expect(incidents()[0]).toMatchObject({ attempts: 4, distinctNames: 1 });
    expect(types()).toEqual(['incident.opened']);
    // A later query of the name, found by a later hunt, counts (and escalates as a retro finding).
    const later = { qname: 'fresh-pool.test', firstMs: queriedMs, lastMs: T0 + 70 * HOUR, count: 5 };
    expect(tracker.recordRetro([{ ...finding, names: [later], lastMs: later.lastMs, count: 5 }], 'retro-hunt')).toBe(1);
    expect(incidents()[0]?.attempts).toBe(9);
    expect(types()).toEqual(['incident.opened', 'incident.escalated']);

    // A restart reads when it was found (and escalated) from its history.
    writer.close();
    start();
    now = T0 + 71 * HOUR + 71 * HOUR;
    expect(tracker.sweep()).toBe(0);
    now = T0 + 71 * HOUR + 72 * HOUR;
    expect(tracker.sweep()).toBe(1);
    expect(incidents()[0]).toMatchObject({ state: 'resolved', resolved: { by: 'auto' } });
  });
});
