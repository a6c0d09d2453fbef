/**
 * The digest of the messages a sink's rate limit held back: one message per window saying how many,
 * of which types, and for which hosts, so a flood costs a receiver a bounded number of messages.
 */
export const DIGEST_WINDOW_MS = 60_000;
const TOP_HOSTS = 5;

export interface HeldMessage {
  readonly type: string;
  readonly payload: unknown;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}

/** The host a message is about, if it names one: its identity's name, else its client address. */
export function hostOf(payload: unknown): string | undefined {
  for (const candidate of [
    field(field(payload, 'identity'), 'name'),
    field(field(payload, 'host'), 'name'),
    field(payload, 'hostName'),
    field(payload, 'clientIp'),
    field(payload, 'client'),
  ]) {
    if (typeof candidate === 'string' && candidate !== '') return candidate;
  }
  return undefined;
}

export interface DigestPayload {
  readonly [key: string]: unknown;
  readonly held: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly topHosts: readonly { readonly host: string; readonly count: number }[];
  readonly summary: string;
}

export function digestOf(held: readonly HeldMessage[]): DigestPayload {
  const byType: Record<string, number> = {};
  const hosts = new Map<string, number>();
  for (const message of held) {
    byType[message.type] = (byType[message.type] ?? 0) + 1;
    const host = hostOf(message.payload);
    if (host !== undefined) hosts.set(host, (hosts.get(host) ?? 0) + 1);
  }
  const topHosts = [...hosts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_HOSTS)
    .map(([host, count]) => ({ host, count }));
  const types = Object.entries(byType)
    .map(([type, count]) => `${count} ${type}`)
    .join(', ');
  const hostText =
    topHosts.length === 0 ? '' : `; top hosts: ${topHosts.map((h) => `${h.host} (${h.count})`).join(', ')}`;
  return {
    held: held.length,
    byType,
    topHosts,
    summary: `${held.length} more notifications held by the rate limit: ${types}${hostText}`,
  };
}
