/**
 * `poolsink pool-ips [--format table|text|json|nftables|iptables|suricata] [--action drop|alert]`:
 * the running server's pool IP feed (GET /api/v1/pool-ips). `table` (the default) is for reading;
 * the others are printed as the API sends them, to redirect into a firewall's file.
 */
import type { Config } from '../config/types.js';
import { PoolsinkError } from '../errors.js';
import { terminalText } from '../net/presentation.js';
import { POOL_IP_FORMATS } from '../pool-ips/export-formats.js';
import { call, callText } from './lists.js';
import { fitCell, formatTable } from './table.js';

const FORMATS: readonly string[] = ['table', ...POOL_IP_FORMATS];

function cell(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  return value === null || value === undefined ? '-' : terminalText(String(value));
}

export async function poolIpsCommand(config: Config, format = 'table', action?: string): Promise<string> {
  if (!FORMATS.includes(format))
    throw new PoolsinkError('ERR_USAGE', `--format must be one of ${FORMATS.join(', ')} (got ${format})`);
  if (action !== undefined && action !== 'drop' && action !== 'alert')
    throw new PoolsinkError('ERR_USAGE', `--action must be drop or alert (got ${action})`);
  if (format !== 'table') {
    const query = new URLSearchParams({ format, ...(action !== undefined ? { action } : {}) });
    const text = await callText(config, `/api/v1/pool-ips?${query.toString()}`);
    return text.endsWith('\n') ? text : `${text}\n`;
  }
  const body = await call(config, 'GET', '/api/v1/pool-ips');
  const entries = Array.isArray(body['entries'])
    ? body['entries'].filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    : [];
  return formatTable(
    ['ADDRESS', 'LIST', 'MODE', 'NAME', 'LAST SEEN'],
    entries.map((entry) => [
      cell(entry, 'address'),
      fitCell(cell(entry, 'list'), 20),
      cell(entry, 'mode'),
      fitCell(cell(entry, 'name'), 40),
      cell(entry, 'lastSeen'),
    ]),
  );
}
