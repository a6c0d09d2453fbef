/**
 * host_identities rows: the writer turns an identity into its row id (inserting it the first time),
 * readers turn an id back into the identity. Rows are never updated, so both sides cache freely;
 * the writer forgets its cache when a transaction fails (an id it cached may have been rolled back).
 */
import type { HostIdentity } from '../inventory/host-identity.js';
import type { SqliteDatabase } from './database.js';

/** Ids cached at most on either side before the cache starts over. */
const MAX_CACHED = 100_000;

/** The canonical text of an identity: equal identities, equal keys (tags sorted). */
export function identityKey(identity: HostIdentity): string {
  const tags =
    identity.tags === undefined ? null : Object.entries(identity.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    identity.source,
    identity.name ?? null,
    identity.instanceId ?? null,
    identity.account ?? null,
    identity.region ?? null,
    tags,
  ]);
}

export interface IdentityIds {
  /** The row id of `identity`, inserted if new. Call inside the write transaction. */
  idFor(identity: HostIdentity): number;
  /** Forgets cached ids (after a rolled-back transaction). */
  forget(): void;
}

export function createIdentityIds(db: SqliteDatabase): IdentityIds {
  const insert = db.prepare<
    [string, string | null, string | null, string | null, string | null, string | null, string]
  >(
    `INSERT INTO host_identities (key, name, instance_id, account, region, tags_json, source)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
  );
  const select = db.prepare<[string], { id: number }>('SELECT id FROM host_identities WHERE key = ?');
  // Snapshot identities are shared by every event of an address: by object first, then by key.
  let byObject = new WeakMap<HostIdentity, number>();
  let byKey = new Map<string, number>();
  return {
    idFor(identity) {
      const cached = byObject.get(identity);
      if (cached !== undefined) return cached;
      const key = identityKey(identity);
      let id = byKey.get(key);
      if (id === undefined) {
        insert.run(
          key,
          identity.name ?? null,
          identity.instanceId ?? null,
          identity.account ?? null,
          identity.region ?? null,
          identity.tags === undefined ? null : JSON.stringify(identity.tags),
          identity.source,
        );
        id = select.get(key)?.id ?? 0;
        if (byKey.size >= MAX_CACHED) byKey = new Map();
        byKey.set(key, id);
      }
      byObject.set(identity, id);
      return id;
    },
    forget() {
      byObject = new WeakMap();
      byKey = new Map();
    },
  };
}

interface IdentityRow {
  name: string | null;
  instance_id: string | null;
  account: string | null;
  region: string | null;
  tags_json: string | null;
  source: string;
}

function tagsOf(json: string | null): Record<string, string> | undefined {
  if (json === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const tags: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') tags[key] = value;
    return tags;
  } catch {
    return undefined; // written by us as JSON; a damaged row shows no tags rather than failing the read
  }
}

function identityOf(row: IdentityRow): HostIdentity {
  const tags = tagsOf(row.tags_json);
  return {
    source: row.source === 'reverse-dns' ? 'reverse-dns' : 'inventory',
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.instance_id !== null ? { instanceId: row.instance_id } : {}),
    ...(row.account !== null ? { account: row.account } : {}),
    ...(row.region !== null ? { region: row.region } : {}),
    ...(tags !== undefined ? { tags } : {}),
  };
}

export interface IdentityReader {
  byId(id: number | null): HostIdentity | undefined;
}

export function createIdentityReader(db: SqliteDatabase): IdentityReader {
  const select = db.prepare<[number], IdentityRow>(
    'SELECT name, instance_id, account, region, tags_json, source FROM host_identities WHERE id = ?',
  );
  let cache = new Map<number, HostIdentity>();
  return {
    byId(id) {
      if (id === null) return undefined;
      const cached = cache.get(id);
      if (cached !== undefined) return cached;
      const row = select.get(id);
      if (row === undefined) return undefined;
      const identity = identityOf(row);
      if (cache.size >= MAX_CACHED) cache = new Map();
      cache.set(id, identity);
      return identity;
    },
  };
}
