/**
 * Inventory text → entries, for every format; `auto` looks at the text (and the file name's
 * extension) to choose. The text is hostile: it is bounded before it gets here (MAX_INVENTORY_BYTES,
 * checked by the loader), YAML aliases are capped, and every field goes through inventory-entry.ts.
 * Throws ERR_INVENTORY_INVALID naming what is wrong; never returns a partial result silently
 * (unusable records are counted in `skipped`).
 */
import { parse as parseYaml } from 'yaml';
import { PoolsinkError, errorMessage } from '../errors.js';
import { parseAwsEc2 } from './formats/aws-ec2.js';
import { parseAzure } from './formats/azure.js';
import { parseGcp } from './formats/gcp.js';
import { parsePoolsinkCsv, parsePoolsinkDocument } from './formats/poolsink.js';
import {
  isRecord,
  type ConcreteInventoryFormat,
  type InventoryFormat,
  type ParsedInventory,
} from './inventory-entry.js';

/** Largest inventory file read, in bytes (a describe-instances dump runs to a few KB per instance). */
export const MAX_INVENTORY_BYTES = 256 * 1024 * 1024;
/** Entries kept at most per file. */
export const MAX_INVENTORY_ENTRIES = 1_000_000;

function invalid(source: string, problem: string, cause?: unknown): PoolsinkError {
  return new PoolsinkError('ERR_INVENTORY_INVALID', `inventory ${source}: ${problem}`, { cause });
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err: unknown) {
    throw invalid(source, `not valid JSON: ${errorMessage(err)}`, err);
  }
}

function parseYamlDoc(text: string, source: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100, uniqueKeys: false });
  } catch (err: unknown) {
    throw invalid(source, `not valid YAML: ${errorMessage(err)}`, err);
  }
}

/** Which cloud printed a JSON document, by the fields only it has. */
export function detectJsonFormat(doc: unknown): ConcreteInventoryFormat {
  if (isRecord(doc) && Array.isArray(doc['Reservations'])) return 'aws-ec2';
  const first = Array.isArray(doc) ? doc.find(isRecord) : undefined;
  if (first === undefined) return 'poolsink';
  if ('vmId' in first || 'privateIps' in first || /\/subscriptions\//i.test(String(first['id'] ?? ''))) return 'azure';
  if ('networkInterfaces' in first || /googleapis\.com\//.test(String(first['selfLink'] ?? ''))) return 'gcp';
  return 'poolsink';
}

function looksLikeCsv(text: string, source: string): boolean {
  if (/\.csv$/i.test(source)) return true;
  if (/\.(ya?ml|json)$/i.test(source)) return false;
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
  return line.includes(',') && !/^\s*(-|\[|\{)/.test(line) && !/^\s*[\w-]+:\s/.test(line);
}

function bounded(parsed: ParsedInventory, source: string): ParsedInventory {
  // Records, none usable: a file of the wrong kind, not an empty inventory.
  if (parsed.entries.length === 0 && parsed.skipped > 0) {
    throw invalid(
      source,
      `no usable host records (${parsed.skipped} without a valid IP address) in ${parsed.format} format`,
    );
  }
  if (parsed.entries.length > MAX_INVENTORY_ENTRIES) {
    throw invalid(source, `more than ${MAX_INVENTORY_ENTRIES} addresses (${parsed.entries.length})`);
  }
  return parsed;
}

/**
 * Parses an inventory file's text. `source` names it in errors and, for `auto` and `poolsink`, its
 * extension picks CSV or YAML (else the text decides).
 */
export function parseInventory(text: string, format: InventoryFormat, source: string): ParsedInventory {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw invalid(source, 'the file is empty');
  if (body.includes('\u0000')) throw invalid(source, 'not a text file (it contains NUL bytes)');
  const json = /^\s*[[{]/.test(body);
  if (format === 'poolsink' || (format === 'auto' && !json)) {
    return bounded(
      looksLikeCsv(body, source)
        ? parsePoolsinkCsv(body)
        : checked(parsePoolsinkDocument, parseYamlDoc(body, source), source),
      source,
    );
  }
  const doc = json ? parseJson(body, source) : parseYamlDoc(body, source);
  const concrete = format === 'auto' ? detectJsonFormat(doc) : format;
  switch (concrete) {
    case 'aws-ec2':
      if (!isRecord(doc) || !Array.isArray(doc['Reservations']))
        throw invalid(source, 'expected the output of `aws ec2 describe-instances` (an object with Reservations)');
      return bounded(parseAwsEc2(doc), source);
    case 'gcp':
      if (!Array.isArray(doc))
        throw invalid(source, 'expected the output of `gcloud compute instances list --format=json` (an array)');
      return bounded(parseGcp(doc), source);
    case 'azure':
      if (!Array.isArray(doc))
        throw invalid(source, 'expected the output of `az vm list --show-details -o json` (an array)');
      return bounded(parseAzure(doc), source);
    case 'poolsink':
      return bounded(checked(parsePoolsinkDocument, doc, source), source);
  }
}

function checked(parse: (doc: unknown) => ParsedInventory, doc: unknown, source: string): ParsedInventory {
  if (!Array.isArray(doc) && !(isRecord(doc) && Array.isArray(doc['hosts']))) {
    throw invalid(source, 'expected a list of hosts ({ ip, name, instanceId, tags }) or a mapping with `hosts:`');
  }
  return parse(doc);
}
