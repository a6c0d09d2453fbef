/**
 * Runtime lists and allowlist entries shared by the fleet through PostgreSQL. The admin API talks to
 * this ListManagement, which changes the local manager first (so this instance blocks or allows at
 * once, and keeps the change in its SQLite), then records it centrally and NOTIFYs the others. Each
 * instance LISTENs, and also checks every syncIntervalMs, and makes its local runtime entries equal
 * to the central ones. While PostgreSQL is away the local copy stays in force and changes made here
 * wait in `pending` until it is back. On first contact an instance contributes its local runtime
 * entries (so a fleet can be formed from instances that already had some).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { AllowlistEntry, ListDefinition, ListInfo, ListManagement } from '../blocklist/list-api.js';
import { errorMessage, isPoolsinkError } from '../errors.js';
import type { CentralDb } from './central-db.js';

export const LISTS_CHANNEL = 'poolsink_lists';

type PendingChange =
  | { readonly kind: 'allow'; readonly domain: string }
  | { readonly kind: 'unallow'; readonly domain: string }
  | { readonly kind: 'list'; readonly definition: Required<ListDefinition> }
  | { readonly kind: 'unlist'; readonly name: string };

export interface FleetListsOptions {
  readonly local: ListManagement;
  readonly db: CentralDb;
  readonly instance: string;
  readonly syncIntervalMs: number;
  readonly log: Logger;
  readonly clock?: () => number;
}

export interface FleetLists {
  /** What the admin API uses in place of the local manager. */
  readonly management: ListManagement;
  /** Pushes what is pending, then applies the central state here. Rejects when PostgreSQL fails. */
  syncNow(): Promise<void>;
  stop(): Promise<void>;
}

function definitionOf(info: ListInfo): Required<ListDefinition> {
  return {
    name: info.name,
    source: info.source,
    format: info.format,
    mode: info.mode,
    refreshSec: info.refreshSec,
    maxShrinkPercent: info.maxShrinkPercent,
    resolveForIps: info.resolveForIps,
  };
}

/** `central` as stored: a row written by an older poolsink has no resolveForIps (then not compared). */
function sameDefinition(here: Required<ListDefinition>, central: ListDefinition): boolean {
  return (
    here.source === central.source &&
    here.format === central.format &&
    here.mode === central.mode &&
    here.refreshSec === central.refreshSec &&
    here.maxShrinkPercent === central.maxShrinkPercent &&
    here.resolveForIps === (central.resolveForIps ?? here.resolveForIps)
  );
}

function keyOf(change: PendingChange): string {
  return change.kind === 'allow' || change.kind === 'unallow'
    ? `allow:${change.domain}`
    : `list:${change.kind === 'list' ? change.definition.name : change.name}`;
}

export function startFleetLists(options: FleetListsOptions): FleetLists {
  const { local, db, instance, log } = options;
  const clock = options.clock ?? Date.now;
  const pending = new Map<string, PendingChange>();
  let firstContact = true;
  let chain: Promise<void> = Promise.resolve();
  let listener: pg.Client | undefined;
  let stopped = false;

  async function push(client: pg.ClientBase, change: PendingChange): Promise<void> {
    const nowMs = clock();
    if (change.kind === 'allow') {
      await client.query(
        'INSERT INTO central_allowlist (domain, created_ms, created_by) VALUES ($1, $2, $3) ON CONFLICT (domain) DO NOTHING',
        [change.domain, nowMs, instance],
      );
    } else if (change.kind === 'unallow') {
      await client.query('DELETE FROM central_allowlist WHERE domain = $1', [change.domain]);
    } else if (change.kind === 'list') {
      await client.query(
        `INSERT INTO central_lists (name, definition, updated_ms, updated_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_ms = EXCLUDED.updated_ms, updated_by = EXCLUDED.updated_by`,
        [change.definition.name, JSON.stringify(change.definition), nowMs, instance],
      );
    } else {
      await client.query('DELETE FROM central_lists WHERE name = $1', [change.name]);
    }
  }

  async function pushPending(): Promise<void> {
    if (firstContact) {
      for (const entry of local.allowlist()) {
        if (entry.origin === 'runtime' && !pending.has(`allow:${entry.domain}`))
          pending.set(`allow:${entry.domain}`, { kind: 'allow', domain: entry.domain });
      }
      for (const info of local.lists()) {
        if (info.origin === 'runtime' && !pending.has(`list:${info.name}`))
          pending.set(`list:${info.name}`, { kind: 'list', definition: definitionOf(info) });
      }
    }
    if (pending.size === 0) return;
    const changes = [...pending.values()];
    await db.transaction(async (client) => {
      for (const change of changes) await push(client, change);
      await client.query('SELECT pg_notify($1, $2)', [LISTS_CHANNEL, instance]);
    });
    // Only what was pushed: a change queued meanwhile stays.
    for (const change of changes) if (pending.get(keyOf(change)) === change) pending.delete(keyOf(change));
    firstContact = false;
  }

  /** Applies one local change; a refusal (already there, gone, a config entry) is logged, not thrown. */
  async function applyLocally(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (err: unknown) {
      if (!isPoolsinkError(err)) throw err;
      log.warn({ change: what, err: errorMessage(err) }, 'fleet list change could not be applied here');
    }
  }

  async function pull(): Promise<void> {
    const { allowed, lists } = await db.withClient(async (client) => {
      const allowRows = await client.query<{ domain: string }>('SELECT domain FROM central_allowlist');
      const listRows = await client.query<{ definition: ListDefinition }>('SELECT definition FROM central_lists');
      return { allowed: new Set(allowRows.rows.map((r) => r.domain)), lists: listRows.rows.map((r) => r.definition) };
    });
    const localEntries = local.allowlist();
    const present = new Set(localEntries.map((e) => e.domain));
    for (const domain of allowed) {
      if (!present.has(domain) && !pending.has(`allow:${domain}`))
        await applyLocally(`allow ${domain}`, () => local.allow(domain));
    }
    for (const entry of localEntries) {
      if (entry.origin === 'runtime' && !allowed.has(entry.domain) && !pending.has(`allow:${entry.domain}`))
        await applyLocally(`unallow ${entry.domain}`, () => local.unallow(entry.domain));
    }
    const localLists = new Map(local.lists().map((info) => [info.name, info]));
    const centralNames = new Set<string>();
    for (const definition of lists) {
      centralNames.add(definition.name);
      if (pending.has(`list:${definition.name}`)) continue;
      const here = localLists.get(definition.name);
      if (here === undefined) {
        await applyLocally(`add list ${definition.name}`, () => local.addList(definition, { force: true }));
      } else if (here.origin === 'runtime' && !sameDefinition(definitionOf(here), definition)) {
        const { name: _name, ...patch } = definition;
        await applyLocally(`update list ${definition.name}`, () => local.updateList(definition.name, patch));
      }
    }
    for (const info of localLists.values()) {
      if (info.origin === 'runtime' && !centralNames.has(info.name) && !pending.has(`list:${info.name}`))
        await applyLocally(`remove list ${info.name}`, () => local.removeList(info.name));
    }
  }

  async function ensureListening(): Promise<void> {
    if (listener !== undefined || stopped) return;
    const client = await db.connectDedicated();
    client.on('notification', () => {
      syncNow().catch(() => undefined); // logged by central-db; the periodic check retries
    });
    const lost = (): void => {
      if (listener === client) listener = undefined;
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.query(`LISTEN ${LISTS_CHANNEL}`);
    listener = client;
  }

  function syncNow(): Promise<void> {
    const run = chain.then(async () => {
      if (stopped) return;
      await pushPending();
      await pull();
      await ensureListening();
    });
    chain = run.catch(() => undefined); // the next sync starts afresh
    return run;
  }

  async function change<T>(result: Promise<T>, toPending: (value: T) => PendingChange): Promise<T> {
    const value = await result;
    const pendingChange = toPending(value);
    pending.set(keyOf(pendingChange), pendingChange);
    syncNow().catch((err: unknown) => {
      log.warn({ err: errorMessage(err) }, 'fleet list change kept here; it reaches PostgreSQL when it is back');
    });
    return value;
  }

  const timer = setInterval(() => {
    syncNow().catch(() => undefined); // central-db logged it; tried again next interval
  }, options.syncIntervalMs);
  timer.unref();
  syncNow().catch(() => undefined);

  const management: ListManagement = {
    lists: () => local.lists(),
    addList: (definition, addOptions) =>
      change(local.addList(definition, addOptions), (info) => ({ kind: 'list', definition: definitionOf(info) })),
    updateList: (name, patch) =>
      change(local.updateList(name, patch), (info) => ({ kind: 'list', definition: definitionOf(info) })),
    removeList: (name) => change(local.removeList(name), () => ({ kind: 'unlist', name })),
    refresh: (name, refreshOptions) => local.refresh(name, refreshOptions),
    allowlist: () => local.allowlist(),
    allow: (domain) =>
      change(local.allow(domain), (entry: AllowlistEntry) => ({ kind: 'allow', domain: entry.domain })),
    unallow: async (domain) => {
      const before = new Set(local.allowlist().map((e) => e.domain));
      await change(local.unallow(domain), () => {
        // The stored form of the name (the manager normalises it): the entry that went away.
        const after = new Set(local.allowlist().map((e) => e.domain));
        const removed = [...before].find((d) => !after.has(d)) ?? domain;
        return { kind: 'unallow', domain: removed };
      });
    },
  };

  return {
    management,
    syncNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain;
      await listener?.end().catch(() => undefined); // closing anyway
    },
  };
}
