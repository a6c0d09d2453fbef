/**
 * The `honeypot` section as loaded: its addresses parsed (as dns.listen's) and the rules between
 * its keys. A problem names the key, like every other configuration error.
 */
import { PoolsinkError } from '../errors.js';
import { formatHostPort, parseHostPort, type HostPort } from '../net/address.js';
import type { ConfigFile } from './schema.js';
import type { HoneypotConfig } from './types.js';

function invalid(path: string, problem: string): PoolsinkError {
  return new PoolsinkError('ERR_CONFIG_INVALID', `config ${path}: ${problem}`);
}

function addresses(texts: readonly string[], path: string): HostPort[] {
  return texts.map((text, i) => {
    const parsed = parseHostPort(text);
    if (parsed === undefined)
      throw invalid(`${path}[${i}]`, `${JSON.stringify(text)} is not an address:port ("0.0.0.0:3333", "[::]:3333")`);
    return parsed;
  });
}

export function honeypotOf(file: ConfigFile['honeypot']): HoneypotConfig {
  const listen = addresses(file.listen, 'honeypot.listen');
  const tlsListen = addresses(file.tlsListen, 'honeypot.tlsListen');
  const seen = new Set<string>();
  for (const [path, list] of [
    ['honeypot.listen', listen],
    ['honeypot.tlsListen', tlsListen],
  ] as const) {
    for (const [i, address] of list.entries()) {
      const key = formatHostPort(address);
      if (address.port !== 0 && seen.has(key)) throw invalid(`${path}[${i}]`, `${key} is listed twice`);
      seen.add(key);
    }
  }
  if (file.maxLineBytes > file.maxBytesPerConnection)
    throw invalid('honeypot.maxLineBytes', 'must not exceed honeypot.maxBytesPerConnection');
  if (file.maxConnectionsPerClient > file.maxConnections)
    throw invalid('honeypot.maxConnectionsPerClient', 'must not exceed honeypot.maxConnections');
  return { ...file, listen, tlsListen };
}
