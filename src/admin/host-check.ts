/**
 * The Host-header check against DNS rebinding: a page on an attacker's name that re-resolves to
 * 127.0.0.1 reaches the admin API with its own name in Host. Only IP literals (IPv6 in brackets),
 * `localhost` and the configured `admin.hostnames` are accepted, with or without a port.
 */
import { isIP } from 'node:net';

/** `[::1]:8053`, `127.0.0.1`, `poolsink.internal:8053` → the host part, lowercased; undefined if malformed. */
function hostPart(header: string): string | undefined {
  let host: string;
  let rest: string;
  if (header.startsWith('[')) {
    const end = header.indexOf(']');
    if (end < 0) return undefined;
    host = header.slice(1, end);
    if (isIP(host) !== 6) return undefined;
    rest = header.slice(end + 1);
  } else {
    const colon = header.indexOf(':');
    host = colon < 0 ? header : header.slice(0, colon);
    rest = colon < 0 ? '' : header.slice(colon);
  }
  if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
  return host.toLowerCase();
}

/** Names compared as written in configuration: lowercase, without a trailing dot. */
function normalizedName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * A checker for a request's Host header. `undefined` (no Host) is accepted only from HTTP/1.0
 * clients, which need not send one; HTTP/1.1 requires it.
 */
export function createHostCheck(
  hostnames: readonly string[],
): (host: string | undefined, httpVersionMinor: number) => boolean {
  const allowed = new Set(['localhost', ...hostnames.map(normalizedName)]);
  return (host, httpVersionMinor) => {
    if (host === undefined || host === '') return httpVersionMinor === 0 && host === undefined;
    const name = hostPart(host);
    if (name === undefined || name === '') return false;
    return isIP(name) !== 0 || allowed.has(normalizedName(name));
  };
}
