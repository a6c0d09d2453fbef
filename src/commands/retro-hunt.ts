/**
 * `poolsink retro-hunt NAME... [--since 3d] [--record]`: the running server's query history searched
 * for the clients that resolved the names or their subdomains (POST /api/v1/retro-hunt); --record
 * opens retro incidents for them. Names are shown in DNS presentation format, identities escaped.
 */
import type { Config } from '../config/types.js';
import { presentName, terminalText } from '../net/presentation.js';
import { call } from './lists.js';
import { formatTable } from './table.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function timeOf(value: unknown): string {
  return text(value).slice(0, 19).replace('T', ' ');
}

export interface RetroHuntOptions {
  readonly since?: string;
  readonly record: boolean;
}

export async function retroHunt(config: Config, names: readonly string[], options: RetroHuntOptions): Promise<string> {
  const body = await call(config, 'POST', '/api/v1/retro-hunt', {
    names,
    record: options.record,
    ...(options.since !== undefined ? { since: options.since } : {}),
  });
  const clients = Array.isArray(body['clients']) ? body['clients'].filter(isRecord) : [];
  const lines: string[] = [];
  if (clients.length === 0) lines.push('no client resolved these names in the query history\n');
  else
    lines.push(
      formatTable(
        ['CLIENT', 'HOST', 'FIRST (UTC)', 'LAST (UTC)', 'QUERIES', 'NAMES'],
        clients.map((client) => {
          const identity = isRecord(client['identity']) ? client['identity'] : undefined;
          const names = Array.isArray(client['names']) ? client['names'].filter(isRecord) : [];
          return [
            terminalText(text(client['client'])),
            identity === undefined ? '-' : terminalText(text(identity['name']) || text(identity['instanceId']) || '-'),
            timeOf(client['firstTime']),
            timeOf(client['lastTime']),
            String(client['count'] ?? 0),
            names.map((name) => presentName(text(name['qname']))).join(' '),
          ];
        }),
      ),
    );
  if (body['truncated'] === true) lines.push('note: the search stopped at its row cap; some history was not read\n');
  if (options.record) lines.push(`incidents opened or joined: ${String(body['incidents'] ?? 0)}\n`);
  return lines.join('');
}
