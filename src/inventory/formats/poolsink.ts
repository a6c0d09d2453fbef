/**
 * poolsink's own inventory formats.
 * - CSV: a header line naming the columns (ip, name, instanceId, tags; optional account, region;
 *   any order, case-insensitive), then one host per line. Without a header the columns are
 *   ip,name,instanceId,tags. Tags are `k=v;k=v`. Fields may be double-quoted ("" is a quote);
 *   lines starting with # are comments.
 * - YAML (or JSON): a list of `{ ip, name, instanceId, account, region, tags: {k: v} }`, or a
 *   mapping with such a list under `hosts`.
 */
import {
  arrayOf,
  cleanTags,
  createEntryCollector,
  inventoryIdentity,
  isRecord,
  type ParsedInventory,
} from '../inventory-entry.js';

const COLUMNS = ['ip', 'name', 'instanceid', 'account', 'region', 'tags'] as const;
type Column = (typeof COLUMNS)[number];
const DEFAULT_COLUMNS: readonly (Column | undefined)[] = ['ip', 'name', 'instanceid', 'tags'];

/** Splits one CSV line into fields (RFC 4180 quoting within the line). */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (ch === ',') {
      fields.push(field.trim());
      field = '';
    } else field += ch;
  }
  fields.push(quoted ? field : field.trim());
  return fields;
}

/** `k=v;k=v` → pairs; a part without `=` is a key with an empty value. */
export function csvTags(text: string | undefined): [string, string][] {
  if (text === undefined) return [];
  const pairs: [string, string][] = [];
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [part.trim(), ''] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return pairs;
}

function columnOf(header: string): Column | undefined {
  const key = header
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, '');
  return COLUMNS.find((column) => column === key);
}

export function parsePoolsinkCsv(text: string): ParsedInventory {
  const collector = createEntryCollector();
  let columns: readonly (Column | undefined)[] | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = csvFields(line);
    if (columns === undefined) {
      const named = fields.map(columnOf);
      if (named.includes('ip')) {
        columns = named;
        continue;
      }
      columns = DEFAULT_COLUMNS;
    }
    const record = new Map<Column, string>();
    fields.forEach((value, i) => {
      const column = columns?.[i];
      if (column !== undefined && value !== '') record.set(column, value);
    });
    const identity = inventoryIdentity({
      name: record.get('name'),
      instanceId: record.get('instanceid'),
      account: record.get('account'),
      region: record.get('region'),
      tags: cleanTags(csvTags(record.get('tags'))),
    });
    collector.add([record.get('ip')], identity);
  }
  return { format: 'poolsink', entries: collector.entries, skipped: collector.skipped };
}

/** A parsed YAML (or JSON) document in poolsink's format. */
export function parsePoolsinkDocument(doc: unknown): ParsedInventory {
  const collector = createEntryCollector();
  const hosts = isRecord(doc) ? arrayOf(doc['hosts']) : arrayOf(doc);
  for (const host of hosts) {
    if (!isRecord(host)) {
      collector.skipped += 1;
      continue;
    }
    const tags = host['tags'];
    const identity = inventoryIdentity({
      name: host['name'],
      instanceId: host['instanceId'],
      account: host['account'],
      region: host['region'],
      tags: isRecord(tags) ? cleanTags(Object.entries(tags)) : undefined,
    });
    const ip = host['ip'];
    collector.add(Array.isArray(ip) ? ip : [ip], identity);
  }
  return { format: 'poolsink', entries: collector.entries, skipped: collector.skipped };
}
