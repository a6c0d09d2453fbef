/**
 * `notify[]` beyond its schema: unique names, the keys each sink type needs, URLs and addresses that
 * parse, and the files (secretFile, caFile) read once at load so a missing secret fails the start.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { PoolsinkError, errorMessage } from '../errors.js';
import { parseHostPort } from '../net/address.js';
import type { ConfigFile } from './schema.js';
import type { NotifySinkConfig } from './types.js';

type SinkFile = ConfigFile['notify'][number];

function invalid(path: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_CONFIG_INVALID', `config ${path}: ${problem}`);
}

function readConfigFile(baseDir: string, path: string, where: string): string {
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  try {
    return readFileSync(full, 'utf8');
  } catch (err: unknown) {
    throw invalid(where, `cannot read ${full}: ${errorMessage(err)}`);
  }
}

function httpUrl(sink: SinkFile, where: string): string {
  if (sink.url === undefined) throw invalid(`${where}.url`, `is required for a ${sink.type} sink`);
  let url: URL;
  try {
    url = new URL(sink.url);
  } catch {
    throw invalid(`${where}.url`, `${JSON.stringify(sink.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid(`${where}.url`, 'must be http:// or https://');
  return url.href;
}

/** Keys that belong to another sink type are rejected, so a typo'd type does not silently ignore them. */
function rejectForeign(sink: SinkFile, where: string, keys: readonly (keyof SinkFile)[]): void {
  for (const key of keys) {
    if (sink[key] !== undefined) throw invalid(`${where}.${key}`, `does not apply to a ${sink.type} sink`);
  }
}

/** An IP address or a host name, with a port (default 514). */
function syslogAddress(text: string): { host: string; port: number } | undefined {
  const literal = parseHostPort(text, 514);
  if (literal !== undefined) return literal;
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))?$/.exec(text.trim());
  if (match === null) return undefined;
  const port = match[2] === undefined ? 514 : Number(match[2]);
  return port >= 1 && port <= 65_535 ? { host: match[1] ?? '', port } : undefined;
}

function sinkOf(sink: SinkFile, where: string, baseDir: string): NotifySinkConfig {
  const base = {
    name: sink.name,
    events: sink.events,
    timeoutMs: sink.timeoutMs,
    perMinute: sink.rateLimit.perMinute,
  };
  switch (sink.type) {
    case 'webhook': {
      rejectForeign(sink, where, ['address', 'transport', 'caFile', 'servername']);
      const url = httpUrl(sink, where);
      let secret: string | undefined;
      if (sink.secretFile !== undefined) {
        secret = readConfigFile(baseDir, sink.secretFile, `${where}.secretFile`).trim();
        if (secret.length < 16) throw invalid(`${where}.secretFile`, 'the secret must be at least 16 characters');
      }
      return {
        ...base,
        type: 'webhook',
        url,
        headers: sink.headers ?? {},
        ...(secret !== undefined ? { secret } : {}),
      };
    }
    case 'slack':
      rejectForeign(sink, where, ['address', 'transport', 'caFile', 'servername', 'secretFile', 'headers']);
      return { ...base, type: 'slack', url: httpUrl(sink, where) };
    case 'syslog': {
      rejectForeign(sink, where, ['url', 'secretFile', 'headers']);
      const transport = sink.transport ?? 'udp';
      const address = sink.address === undefined ? undefined : syslogAddress(sink.address);
      if (address === undefined) {
        throw invalid(
          `${where}.address`,
          'needs host:port for a syslog sink ("10.0.0.5:514", "siem.internal:6514", "[::1]:6514")',
        );
      }
      if (transport !== 'tls' && (sink.caFile !== undefined || sink.servername !== undefined)) {
        throw invalid(`${where}.transport`, 'caFile and servername need transport: tls');
      }
      const ca = sink.caFile === undefined ? undefined : readConfigFile(baseDir, sink.caFile, `${where}.caFile`);
      return {
        ...base,
        type: 'syslog',
        host: address.host,
        port: address.port,
        transport,
        ...(ca !== undefined ? { ca } : {}),
        ...(sink.servername !== undefined ? { servername: sink.servername } : {}),
      };
    }
  }
}

export function notifySinksOf(sinks: readonly SinkFile[], baseDir: string): NotifySinkConfig[] {
  const names = new Set<string>();
  return sinks.map((sink, i) => {
    const where = `notify[${i}]`;
    if (names.has(sink.name)) throw invalid(`${where}.name`, `duplicate sink name ${JSON.stringify(sink.name)}`);
    names.add(sink.name);
    return sinkOf(sink, where, baseDir);
  });
}
